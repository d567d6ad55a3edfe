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
