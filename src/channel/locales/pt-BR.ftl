code-expiry = { $minutes ->
    [one] 1 minuto
   *[other] { $minutes } minutos
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Use-o para verificar este endereço de e-mail na sua conta.
       *[phone] Use-o para verificar este número de telefone na sua conta.
    }
    [change_phone] Use-o para confirmar que você está alterando seu número de telefone.
    [recovery] Use-o para recuperar sua conta.
   *[identity_check] Use-o para confirmar que é você.
}

code-subject = { $purpose ->
    [recovery] Código de recuperação da conta
   *[other] Seu código de segurança
}

code-sms = { $purpose ->
    [recovery] Código de recuperação: { $code }. Expira em { code-expiry }.
   *[other] Seu código de segurança: { $code }. Expira em { code-expiry }.
}

code-email-text =
    Seu código de segurança é { $code }.

    { code-why } Ele expira em { code-expiry }.

    Se você não pediu este código, ignore esta mensagem e não o compartilhe com ninguém.

code-email-html =
    <p>Seu código de segurança é <strong>{ $code }</strong>.</p>
    <p>{ code-why } Ele expira em { code-expiry }.</p>
    <p>Se você não pediu este código, ignore esta mensagem e não o compartilhe com ninguém.</p>

code-voice = Seu código de segurança é: { $spoken }. Repetindo: { $spoken }. Ele expira em { code-expiry }.

## Said first when a call reads the code only after a key press.
code-voice-prompt = Pressione qualquer tecla para ouvir seu código de segurança.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = Não compartilhe com ninguém.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Valor: { $amount }. Favorecido: { $payee }.

notice-subject = { $event ->
    [added] Informações de segurança adicionadas
    [replaced] Informações de segurança adicionadas
    [removed] Informações de segurança removidas
   *[recovered] Conta recuperada
}

notice-days = { $days ->
    [one] 1 dia
   *[other] { $days } dias
}

notice-body = { $event ->
    [added] { $contact } foi adicionado às informações de segurança da sua conta.
    [replaced] { $contact } substituiu { $old } nas informações de segurança da sua conta.
    [removed] { $contact } foi removido das informações de segurança da sua conta.
    [recovered_with_code] Sua conta foi recuperada com o código de recuperação, e um novo código de recuperação foi criado.
    [recovered_with_app] Sua conta foi recuperada com um código do aplicativo autenticador.
   *[recovered] Sua conta foi recuperada com um código enviado para { $contact }.
} Se não foi você, recupere sua conta agora; durante { notice-days } após uma recuperação, seus contatos anteriores podem desfazer alterações nas informações de segurança.
