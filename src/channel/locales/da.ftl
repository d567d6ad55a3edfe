## Danish. See en.ftl for the messages and their variables.

code-expiry = { $minutes ->
    [one] 1 minut
   *[other] { $minutes } minutter
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Brug den til at bekræfte e-mailadressen til din konto.
       *[phone] Brug den til at bekræfte telefonnummeret til din konto.
    }
    [change_phone] Brug den til at bekræfte, at du skifter telefonnummer.
    [recovery] Brug den til at gendanne din konto.
   *[identity_check] Brug den til at bekræfte, at det er dig.
}

code-subject = { $purpose ->
    [recovery] Kode til gendannelse af konto
   *[other] Din sikkerhedskode
}

code-sms = Din sikkerhedskode er { $code }. { code-why } Den udløber om { code-expiry }.

code-email-text =
    Din sikkerhedskode er { $code }.

    { code-why } Den udløber om { code-expiry }.

    Hvis du ikke har bedt om denne kode, kan du ignorere denne besked. Del ikke koden med nogen.

code-email-html =
    <p>Din sikkerhedskode er <strong>{ $code }</strong>.</p>
    <p>{ code-why } Den udløber om { code-expiry }.</p>
    <p>Hvis du ikke har bedt om denne kode, kan du ignorere denne besked. Del ikke koden med nogen.</p>

code-voice = Din sikkerhedskode er: { $spoken }. Igen: { $spoken }. Den udløber om { code-expiry }.

## Said first when a call reads the code only after a key press.
code-voice-prompt = Tryk på en vilkårlig tast for at høre din sikkerhedskode.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = Del den ikke med nogen.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Beløb: { $amount }. Modtager: { $payee }.

notice-subject = { $event ->
    [added] Sikkerhedsoplysninger tilføjet
    [replaced] Sikkerhedsoplysninger tilføjet
    [removed] Sikkerhedsoplysninger fjernet
   *[recovered] Konto gendannet
}

notice-days = { $days ->
    [one] 1 dag
   *[other] { $days } dage
}

notice-body = { $event ->
    [added] { $contact } blev føjet til din kontos sikkerhedsoplysninger.
    [replaced] { $contact } erstattede { $old } i din kontos sikkerhedsoplysninger.
    [removed] { $contact } blev fjernet fra din kontos sikkerhedsoplysninger.
    [recovered_with_code] Din konto blev gendannet med dens gendannelseskode, og en ny gendannelseskode blev oprettet.
    [recovered_with_app] Din konto blev gendannet med en kode fra dens godkendelsesapp.
   *[recovered] Din konto blev gendannet med en kode, der blev sendt til { $contact }.
} Hvis det ikke var dig, så gendan din konto nu; i { notice-days } efter en gendannelse kan dine tidligere kontakter fortryde ændringer i sikkerhedsoplysningerne.
