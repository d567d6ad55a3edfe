code-expiry = { $minutes ->
    [one] 1 minuto
   *[other] { $minutes } minutos
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Úsalo para verificar esta dirección de correo en tu cuenta.
       *[phone] Úsalo para verificar este número de teléfono en tu cuenta.
    }
    [change_phone] Úsalo para confirmar que estás cambiando tu número de teléfono.
    [recovery] Úsalo para recuperar tu cuenta.
   *[identity_check] Úsalo para confirmar que eres tú.
}

code-subject = { $purpose ->
    [recovery] Código de recuperación de la cuenta
   *[other] Tu código de seguridad
}

code-sms = { $purpose ->
    [recovery] Código de recuperación: { $code }. Caduca en { code-expiry }.
   *[other] Tu código de seguridad: { $code }. Caduca en { code-expiry }.
}

code-email-text =
    Tu código de seguridad es { $code }.

    { code-why } Caduca en { code-expiry }.

    Si no has pedido este código, ignora este mensaje y no lo compartas con nadie.

code-email-html =
    <p>Tu código de seguridad es <strong>{ $code }</strong>.</p>
    <p>{ code-why } Caduca en { code-expiry }.</p>
    <p>Si no has pedido este código, ignora este mensaje y no lo compartas con nadie.</p>

code-voice = Tu código de seguridad es: { $spoken }. Repito: { $spoken }. Caduca en { code-expiry }.

## Said first when a call reads the code only after a key press.
code-voice-prompt = Pulsa cualquier tecla para escuchar tu código de seguridad.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = No lo compartas con nadie.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Importe: { $amount }. Beneficiario: { $payee }.

notice-subject = { $event ->
    [added] Información de seguridad agregada
    [replaced] Información de seguridad agregada
    [removed] Información de seguridad eliminada
   *[recovered] Cuenta recuperada
}

notice-days = { $days ->
    [one] 1 día
   *[other] { $days } días
}

notice-body = { $event ->
    [added] Se agregó { $contact } a la información de seguridad de tu cuenta.
    [replaced] { $contact } reemplazó a { $old } en la información de seguridad de tu cuenta.
    [removed] Se quitó { $contact } de la información de seguridad de tu cuenta.
    [recovered_with_code] Tu cuenta se recuperó con su código de recuperación, y se creó un nuevo código de recuperación.
    [recovered_with_app] Tu cuenta se recuperó con un código de su aplicación de autenticación.
   *[recovered] Tu cuenta se recuperó con un código enviado a { $contact }.
} Si no fuiste tú, recupera tu cuenta ahora; durante { notice-days } después de una recuperación, tus contactos anteriores pueden deshacer los cambios en la información de seguridad.
