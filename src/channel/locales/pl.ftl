## Polish. See en.ftl for the messages and their variables. The SMS is
## short: Polish needs UCS-2, 70 characters a segment.

## After "za" (in): the accusative.
code-expiry = { $minutes ->
    [one] 1 minutę
    [few] { $minutes } minuty
    [many] { $minutes } minut
   *[other] { $minutes } minuty
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Użyj go, aby zweryfikować ten adres e-mail w swoim koncie.
       *[phone] Użyj go, aby zweryfikować ten numer telefonu w swoim koncie.
    }
    [change_phone] Użyj go, aby potwierdzić zmianę numeru telefonu.
    [recovery] Użyj go, aby odzyskać konto.
   *[identity_check] Użyj go, aby potwierdzić, że to Ty.
}

code-subject = { $purpose ->
    [recovery] Kod odzyskiwania konta
   *[other] Twój kod zabezpieczający
}

code-sms = { $purpose ->
    [recovery] Kod odzyskiwania: { $code }. Wygasa za { code-expiry }.
   *[other] Kod zabezpieczający: { $code }. Wygasa za { code-expiry }.
}

code-email-text =
    Twój kod zabezpieczający to { $code }.

    { code-why } Wygasa za { code-expiry }.

    Jeśli to nie Ty prosisz o ten kod, zignoruj tę wiadomość i nie udostępniaj kodu nikomu.

code-email-html =
    <p>Twój kod zabezpieczający to <strong>{ $code }</strong>.</p>
    <p>{ code-why } Wygasa za { code-expiry }.</p>
    <p>Jeśli to nie Ty prosisz o ten kod, zignoruj tę wiadomość i nie udostępniaj kodu nikomu.</p>

code-voice = Twój kod zabezpieczający to: { $spoken }. Powtarzam: { $spoken }. Wygasa za { code-expiry }.

## Said first when a call reads the code only after a key press.
code-voice-prompt = Naciśnij dowolny klawisz, aby usłyszeć kod zabezpieczający.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = Nie udostępniaj go nikomu.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Kwota: { $amount }. Odbiorca: { $payee }.

notice-subject = { $event ->
    [added] Dodano informacje zabezpieczające
    [replaced] Dodano informacje zabezpieczające
    [removed] Usunięto informacje zabezpieczające
   *[recovered] Konto zostało odzyskane
}

## After "przez" (for): the accusative.
notice-days = { $days ->
    [one] 1 dzień
    [few] { $days } dni
    [many] { $days } dni
   *[other] { $days } dnia
}

notice-body = { $event ->
    [added] Dodano { $contact } do informacji zabezpieczających Twojego konta.
    [replaced] W informacjach zabezpieczających Twojego konta { $old } zastąpiono przez { $contact }.
    [removed] Usunięto { $contact } z informacji zabezpieczających Twojego konta.
    [recovered_with_code] Twoje konto odzyskano za pomocą kodu odzyskiwania i utworzono nowy kod odzyskiwania.
    [recovered_with_app] Twoje konto odzyskano za pomocą kodu z aplikacji uwierzytelniającej.
   *[recovered] Twoje konto odzyskano za pomocą kodu wysłanego na { $contact }.
} Jeśli to nie Ty, odzyskaj konto teraz; przez { notice-days } po odzyskaniu konta Twoje wcześniejsze kontakty mogą cofnąć zmiany w informacjach zabezpieczających.
