## Texts of code messages. Variables: $code (the code), $minutes (until it
## expires), $what ("email" or "phone": the kind of contact), $purpose
## (add_security_info, change_phone, recovery, identity_check), $spoken (the
## code's characters separated for a voice call).

code-expiry = { $minutes ->
    [one] 1 minute
   *[other] { $minutes } minutes
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Use it to verify this email address for your account.
       *[phone] Use it to verify this phone number for your account.
    }
    [change_phone] Use it to confirm that you are changing your phone number.
    [recovery] Use it to recover your account.
   *[identity_check] Use it to confirm it's you.
}

code-subject = { $purpose ->
    [recovery] Account recovery code
   *[other] Your security code
}

code-sms = Your security code is { $code }. { code-why } It expires in { code-expiry }.

code-email-text =
    Your security code is { $code }.

    { code-why } It expires in { code-expiry }.

    If you didn't ask for this code, ignore this message and don't share the code with anyone.

code-email-html =
    <p>Your security code is <strong>{ $code }</strong>.</p>
    <p>{ code-why } It expires in { code-expiry }.</p>
    <p>If you didn't ask for this code, ignore this message and don't share the code with anyone.</p>

code-voice = Your security code is: { $spoken }. Again: { $spoken }. It expires in { code-expiry }.

## Said first when a call reads the code only after a key press.
code-voice-prompt = Press any key to hear your security code.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = Don't share it with anyone.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Amount: { $amount }. Payee: { $payee }.

## Notices to an account's contacts when its security info changes. Variables:
## $event (added, replaced, removed, recovered, recovered_with_code,
## recovered_with_app), $contact (the masked contact
## added, removed or used), $old (the masked contact replaced), $days (how long
## earlier contacts can undo changes after a recovery).

notice-subject = { $event ->
    [added] Security info added
    [replaced] Security info added
    [removed] Security info removed
   *[recovered] Account recovered
}

notice-days = { $days ->
    [one] 1 day
   *[other] { $days } days
}

notice-body = { $event ->
    [added] { $contact } was added to your account's security info.
    [replaced] { $contact } replaced { $old } in your account's security info.
    [removed] { $contact } was removed from your account's security info.
    [recovered_with_code] Your account was recovered with its recovery code, and a new recovery code was made.
    [recovered_with_app] Your account was recovered with a code from its authenticator app.
   *[recovered] Your account was recovered with a code sent to { $contact }.
} If this wasn't you, recover your account now; for { notice-days } after a recovery, your earlier contacts can undo changes to security info.
