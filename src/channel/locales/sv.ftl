## Swedish. See en.ftl for the messages and their variables.

code-expiry = { $minutes ->
    [one] 1 minut
   *[other] { $minutes } minuter
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Använd den för att verifiera e-postadressen för ditt konto.
       *[phone] Använd den för att verifiera telefonnumret för ditt konto.
    }
    [change_phone] Använd den för att bekräfta att du byter telefonnummer.
    [recovery] Använd den för att återställa ditt konto.
   *[identity_check] Använd den för att bekräfta att det är du.
}

code-subject = { $purpose ->
    [recovery] Kod för kontoåterställning
   *[other] Din säkerhetskod
}

code-sms = Din säkerhetskod är { $code }. { code-why } Den går ut om { code-expiry }.

code-email-text =
    Din säkerhetskod är { $code }.

    { code-why } Den går ut om { code-expiry }.

    Om du inte har bett om den här koden kan du ignorera meddelandet. Dela inte koden med någon.

code-email-html =
    <p>Din säkerhetskod är <strong>{ $code }</strong>.</p>
    <p>{ code-why } Den går ut om { code-expiry }.</p>
    <p>Om du inte har bett om den här koden kan du ignorera meddelandet. Dela inte koden med någon.</p>

code-voice = Din säkerhetskod är: { $spoken }. Igen: { $spoken }. Den går ut om { code-expiry }.

## Said first when a call reads the code only after a key press.
code-voice-prompt = Tryck på valfri knapp för att höra din säkerhetskod.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = Dela den inte med någon.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Belopp: { $amount }. Mottagare: { $payee }.

notice-subject = { $event ->
    [added] Säkerhetsinformation tillagd
    [replaced] Säkerhetsinformation tillagd
    [removed] Säkerhetsinformation borttagen
   *[recovered] Kontot har återställts
}

notice-days = { $days ->
    [one] 1 dag
   *[other] { $days } dagar
}

notice-body = { $event ->
    [added] { $contact } har lagts till i ditt kontos säkerhetsinformation.
    [replaced] { $contact } har ersatt { $old } i ditt kontos säkerhetsinformation.
    [removed] { $contact } har tagits bort från ditt kontos säkerhetsinformation.
    [recovered_with_code] Ditt konto återställdes med sin återställningskod, och en ny återställningskod skapades.
    [recovered_with_app] Ditt konto återställdes med en kod från sin autentiseringsapp.
   *[recovered] Ditt konto återställdes med en kod som skickades till { $contact }.
} Om det inte var du, återställ ditt konto nu; i { notice-days } efter en återställning kan dina tidigare kontakter ångra ändringar i säkerhetsinformationen.
