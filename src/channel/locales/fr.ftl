code-expiry = { $minutes ->
    [one] 1 minute
   *[other] { $minutes } minutes
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Utilisez-le pour vérifier cette adresse e-mail pour votre compte.
       *[phone] Utilisez-le pour vérifier ce numéro de téléphone pour votre compte.
    }
    [change_phone] Utilisez-le pour confirmer le changement de votre numéro de téléphone.
    [recovery] Utilisez-le pour récupérer votre compte.
   *[identity_check] Utilisez-le pour confirmer qu'il s'agit bien de vous.
}

code-subject = { $purpose ->
    [recovery] Code de récupération du compte
   *[other] Votre code de sécurité
}

code-sms = { $purpose ->
    [recovery] Code de récupération du compte : { $code }. Expire dans { code-expiry }.
   *[other] Votre code de sécurité : { $code }. Il expire dans { code-expiry }.
}

code-email-text =
    Votre code de sécurité est { $code }.

    { code-why } Il expire dans { code-expiry }.

    Si vous n'avez pas demandé ce code, ignorez ce message et ne le communiquez à personne.

code-email-html =
    <p>Votre code de sécurité est <strong>{ $code }</strong>.</p>
    <p>{ code-why } Il expire dans { code-expiry }.</p>
    <p>Si vous n'avez pas demandé ce code, ignorez ce message et ne le communiquez à personne.</p>

code-voice = Votre code de sécurité est : { $spoken }. Je répète : { $spoken }. Il expire dans { code-expiry }.
