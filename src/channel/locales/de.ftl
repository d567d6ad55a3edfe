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
