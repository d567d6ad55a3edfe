code-expiry = { $minutes ->
    [one] 1 minuto
   *[other] { $minutes } minuti
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Usalo per verificare questo indirizzo email per il tuo account.
       *[phone] Usalo per verificare questo numero di telefono per il tuo account.
    }
    [change_phone] Usalo per confermare che stai cambiando il tuo numero di telefono.
    [recovery] Usalo per recuperare il tuo account.
   *[identity_check] Usalo per confermare che sei tu.
}

code-subject = { $purpose ->
    [recovery] Codice di recupero dell'account
   *[other] Il tuo codice di sicurezza
}

code-sms = { $purpose ->
    [recovery] Codice di recupero dell'account: { $code }. Scade tra { code-expiry }.
   *[other] Il tuo codice di sicurezza: { $code }. Scade tra { code-expiry }.
}

code-email-text =
    Il tuo codice di sicurezza è { $code }.

    { code-why } Scade tra { code-expiry }.

    Se non hai richiesto questo codice, ignora questo messaggio e non condividere il codice con nessuno.

code-email-html =
    <p>Il tuo codice di sicurezza è <strong>{ $code }</strong>.</p>
    <p>{ code-why } Scade tra { code-expiry }.</p>
    <p>Se non hai richiesto questo codice, ignora questo messaggio e non condividere il codice con nessuno.</p>

code-voice = Il tuo codice di sicurezza è: { $spoken }. Ripeto: { $spoken }. Scade tra { code-expiry }.

## Said first when a call reads the code only after a key press.
code-voice-prompt = Premi un tasto qualsiasi per ascoltare il tuo codice di sicurezza.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = Non condividerlo con nessuno.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Importo: { $amount }. Beneficiario: { $payee }.

notice-subject = { $event ->
    [added] Informazioni di sicurezza aggiunte
    [replaced] Informazioni di sicurezza aggiunte
    [removed] Informazioni di sicurezza rimosse
   *[recovered] Account recuperato
}

notice-days = { $days ->
    [one] 1 giorno
   *[other] { $days } giorni
}

notice-body = { $event ->
    [added] { $contact } è stato aggiunto alle informazioni di sicurezza del tuo account.
    [replaced] { $contact } ha sostituito { $old } nelle informazioni di sicurezza del tuo account.
    [removed] { $contact } è stato rimosso dalle informazioni di sicurezza del tuo account.
    [recovered_with_code] Il tuo account è stato recuperato con il codice di recupero, ed è stato creato un nuovo codice di recupero.
    [recovered_with_app] Il tuo account è stato recuperato con un codice della sua app di autenticazione.
   *[recovered] Il tuo account è stato recuperato con un codice inviato a { $contact }.
} Se non sei stato tu, recupera subito il tuo account; per { notice-days } dopo un recupero, i tuoi contatti precedenti possono annullare le modifiche alle informazioni di sicurezza.
