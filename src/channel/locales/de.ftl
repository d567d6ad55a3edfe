code-expiry = { $minutes ->
    [one] 1 Minute
   *[other] { $minutes } Minuten
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Bestätigen Sie damit diese E-Mail-Adresse für Ihr Konto.
       *[phone] Bestätigen Sie damit diese Telefonnummer für Ihr Konto.
    }
    [change_phone] Bestätigen Sie damit, dass Sie Ihre Telefonnummer ändern.
    [recovery] Stellen Sie damit Ihr Konto wieder her.
   *[identity_check] Bestätigen Sie damit, dass Sie es sind.
}

code-subject = { $purpose ->
    [recovery] Code zur Kontowiederherstellung
   *[other] Ihr Sicherheitscode
}

code-sms = Ihr Sicherheitscode lautet { $code }. { code-why } Er läuft in { code-expiry } ab.

code-email-text =
    Ihr Sicherheitscode lautet { $code }.

    { code-why } Er läuft in { code-expiry } ab.

    Wenn Sie diesen Code nicht angefordert haben, ignorieren Sie diese Nachricht und geben Sie den Code an niemanden weiter.

code-email-html =
    <p>Ihr Sicherheitscode lautet <strong>{ $code }</strong>.</p>
    <p>{ code-why } Er läuft in { code-expiry } ab.</p>
    <p>Wenn Sie diesen Code nicht angefordert haben, ignorieren Sie diese Nachricht und geben Sie den Code an niemanden weiter.</p>

code-voice = Ihr Sicherheitscode lautet: { $spoken }. Noch einmal: { $spoken }. Er läuft in { code-expiry } ab.

## Said first when a call reads the code only after a key press.
code-voice-prompt = Drücken Sie eine beliebige Taste, um Ihren Sicherheitscode zu hören.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = Code nicht weitergeben.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Betrag: { $amount }. Empfänger: { $payee }.

notice-subject = { $event ->
    [added] Sicherheitsinformationen hinzugefügt
    [replaced] Sicherheitsinformationen hinzugefügt
    [removed] Sicherheitsinformationen entfernt
   *[recovered] Konto wiederhergestellt
}

notice-days = { $days ->
    [one] 1 Tag
   *[other] { $days } Tage
}

notice-body = { $event ->
    [added] { $contact } wurde den Sicherheitsinformationen Ihres Kontos hinzugefügt.
    [replaced] { $contact } hat { $old } in den Sicherheitsinformationen Ihres Kontos ersetzt.
    [removed] { $contact } wurde aus den Sicherheitsinformationen Ihres Kontos entfernt.
    [recovered_with_code] Ihr Konto wurde mit seinem Wiederherstellungscode wiederhergestellt, und ein neuer Wiederherstellungscode wurde erstellt.
    [recovered_with_app] Ihr Konto wurde mit einem Code aus seiner Authentifizierungs-App wiederhergestellt.
   *[recovered] Ihr Konto wurde mit einem an { $contact } gesendeten Code wiederhergestellt.
} Wenn Sie das nicht waren, stellen Sie Ihr Konto jetzt wieder her; { notice-days } lang nach einer Wiederherstellung können Ihre bisherigen Kontakte Änderungen an den Sicherheitsinformationen rückgängig machen.
