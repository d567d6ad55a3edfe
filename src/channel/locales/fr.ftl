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

## Said first when a call reads the code only after a key press.
code-voice-prompt = Appuyez sur une touche pour entendre votre code de sécurité.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = Ne le partagez avec personne.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Montant : { $amount }. Bénéficiaire : { $payee }.

notice-subject = { $event ->
    [added] Informations de sécurité ajoutées
    [replaced] Informations de sécurité ajoutées
    [removed] Informations de sécurité supprimées
   *[recovered] Compte récupéré
}

notice-days = { $days ->
    [one] 1 jour
   *[other] { $days } jours
}

notice-body = { $event ->
    [added] { $contact } a été ajouté aux informations de sécurité de votre compte.
    [replaced] { $contact } a remplacé { $old } dans les informations de sécurité de votre compte.
    [removed] { $contact } a été supprimé des informations de sécurité de votre compte.
    [recovered_with_code] Votre compte a été récupéré avec son code de récupération, et un nouveau code de récupération a été créé.
    [recovered_with_app] Votre compte a été récupéré avec un code de son application d'authentification.
   *[recovered] Votre compte a été récupéré avec un code envoyé à { $contact }.
} Si ce n'était pas vous, récupérez votre compte maintenant ; pendant { notice-days } après une récupération, vos anciens contacts peuvent annuler les modifications des informations de sécurité.
