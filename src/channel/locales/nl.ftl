code-expiry = { $minutes ->
    [one] 1 minuut
   *[other] { $minutes } minuten
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Gebruik deze om dit e-mailadres voor je account te bevestigen.
       *[phone] Gebruik deze om dit telefoonnummer voor je account te bevestigen.
    }
    [change_phone] Gebruik deze om te bevestigen dat je je telefoonnummer wijzigt.
    [recovery] Gebruik deze om je account te herstellen.
   *[identity_check] Gebruik deze om te bevestigen dat jij het bent.
}

code-subject = { $purpose ->
    [recovery] Code voor accountherstel
   *[other] Je beveiligingscode
}

code-sms = { $purpose ->
    [recovery] Code voor accountherstel: { $code }. Hij verloopt over { code-expiry }.
   *[other] Je beveiligingscode: { $code }. Hij verloopt over { code-expiry }.
}

code-email-text =
    Je beveiligingscode is { $code }.

    { code-why } Hij verloopt over { code-expiry }.

    Heb je deze code niet aangevraagd? Negeer dit bericht en deel de code met niemand.

code-email-html =
    <p>Je beveiligingscode is <strong>{ $code }</strong>.</p>
    <p>{ code-why } Hij verloopt over { code-expiry }.</p>
    <p>Heb je deze code niet aangevraagd? Negeer dit bericht en deel de code met niemand.</p>

code-voice = Je beveiligingscode is: { $spoken }. Nog een keer: { $spoken }. Hij verloopt over { code-expiry }.

## Said first when a call reads the code only after a key press.
code-voice-prompt = Druk op een willekeurige toets om je beveiligingscode te horen.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = Deel hem met niemand.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Bedrag: { $amount }. Begunstigde: { $payee }.

notice-subject = { $event ->
    [added] Beveiligingsgegevens toegevoegd
    [replaced] Beveiligingsgegevens toegevoegd
    [removed] Beveiligingsgegevens verwijderd
   *[recovered] Account hersteld
}

notice-days = { $days ->
    [one] 1 dag
   *[other] { $days } dagen
}

notice-body = { $event ->
    [added] { $contact } is toegevoegd aan de beveiligingsgegevens van je account.
    [replaced] { $contact } heeft { $old } vervangen in de beveiligingsgegevens van je account.
    [removed] { $contact } is verwijderd uit de beveiligingsgegevens van je account.
    [recovered_with_code] Je account is hersteld met de herstelcode, en er is een nieuwe herstelcode gemaakt.
    [recovered_with_app] Je account is hersteld met een code uit de authenticatie-app.
   *[recovered] Je account is hersteld met een code die naar { $contact } is verzonden.
} Was jij dit niet? Herstel je account dan nu; tot { notice-days } na een herstel kunnen je eerdere contactgegevens wijzigingen in de beveiligingsgegevens ongedaan maken.
