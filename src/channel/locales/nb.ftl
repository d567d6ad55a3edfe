## Norwegian Bokmål. See en.ftl for the messages and their variables.

code-expiry = { $minutes ->
    [one] 1 minutt
   *[other] { $minutes } minutter
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Bruk den til å bekrefte e-postadressen for kontoen din.
       *[phone] Bruk den til å bekrefte telefonnummeret for kontoen din.
    }
    [change_phone] Bruk den til å bekrefte at du bytter telefonnummer.
    [recovery] Bruk den til å gjenopprette kontoen din.
   *[identity_check] Bruk den til å bekrefte at det er deg.
}

code-subject = { $purpose ->
    [recovery] Kode for gjenoppretting av konto
   *[other] Sikkerhetskoden din
}

code-sms = Sikkerhetskoden din er { $code }. { code-why } Den utløper om { code-expiry }.

code-email-text =
    Sikkerhetskoden din er { $code }.

    { code-why } Den utløper om { code-expiry }.

    Hvis du ikke ba om denne koden, kan du se bort fra denne meldingen. Ikke del koden med noen.

code-email-html =
    <p>Sikkerhetskoden din er <strong>{ $code }</strong>.</p>
    <p>{ code-why } Den utløper om { code-expiry }.</p>
    <p>Hvis du ikke ba om denne koden, kan du se bort fra denne meldingen. Ikke del koden med noen.</p>

code-voice = Sikkerhetskoden din er: { $spoken }. Igjen: { $spoken }. Den utløper om { code-expiry }.

## Said first when a call reads the code only after a key press.
code-voice-prompt = Trykk på en hvilken som helst tast for å høre sikkerhetskoden din.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = Ikke del den med noen.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Beløp: { $amount }. Mottaker: { $payee }.

notice-subject = { $event ->
    [added] Sikkerhetsinformasjon lagt til
    [replaced] Sikkerhetsinformasjon lagt til
    [removed] Sikkerhetsinformasjon fjernet
   *[recovered] Kontoen er gjenopprettet
}

notice-days = { $days ->
    [one] 1 dag
   *[other] { $days } dager
}

notice-body = { $event ->
    [added] { $contact } ble lagt til i sikkerhetsinformasjonen for kontoen din.
    [replaced] { $contact } erstattet { $old } i sikkerhetsinformasjonen for kontoen din.
    [removed] { $contact } ble fjernet fra sikkerhetsinformasjonen for kontoen din.
    [recovered_with_code] Kontoen din ble gjenopprettet med gjenopprettingskoden, og en ny gjenopprettingskode ble laget.
    [recovered_with_app] Kontoen din ble gjenopprettet med en kode fra autentiseringsappen.
   *[recovered] Kontoen din ble gjenopprettet med en kode sendt til { $contact }.
} Hvis dette ikke var deg, gjenopprett kontoen din nå; i { notice-days } etter en gjenoppretting kan de tidligere kontaktene dine angre endringer i sikkerhetsinformasjonen.
