## Chinese (Simplified). See en.ftl for the messages and their variables.

code-expiry = { $minutes } 分钟

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] 用于验证您账户的此电子邮件地址。
       *[phone] 用于验证您账户的此电话号码。
    }
    [change_phone] 用于确认您正在更改电话号码。
    [recovery] 用于恢复您的账户。
   *[identity_check] 用于确认是您本人。
}

code-subject = { $purpose ->
    [recovery] 账户恢复代码
   *[other] 您的安全代码
}

code-sms = 您的安全代码：{ $code }。{ code-why }{ code-expiry }后过期。

code-email-text =
    您的安全代码是 { $code }。

    { code-why }{ code-expiry }后过期。

    如果您没有请求此代码，请忽略此消息，并且不要与任何人分享此代码。

code-email-html =
    <p>您的安全代码是 <strong>{ $code }</strong>。</p>
    <p>{ code-why }{ code-expiry }后过期。</p>
    <p>如果您没有请求此代码，请忽略此消息，并且不要与任何人分享此代码。</p>

code-voice = 您的安全代码是：{ $spoken }。再说一遍：{ $spoken }。{ code-expiry }后过期。

## Said first when a call reads the code only after a key press.
code-voice-prompt = 请按任意键收听您的安全代码。

## The warning after an SMS or call when the application asks for it.
code-do-not-share = 请勿与任何人分享。

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = 金额：{ $amount }。收款方：{ $payee }。

notice-subject = { $event ->
    [added] 已添加安全信息
    [replaced] 已添加安全信息
    [removed] 已删除安全信息
   *[recovered] 账户已恢复
}

notice-days = { $days } 天

notice-body = { $event ->
    [added] { $contact } 已添加到您账户的安全信息中。
    [replaced] { $contact } 已替换您账户安全信息中的 { $old }。
    [removed] { $contact } 已从您账户的安全信息中删除。
    [recovered_with_code] 您的账户已使用其恢复代码恢复，并已生成新的恢复代码。
    [recovered_with_app] 您的账户已使用其身份验证器应用中的代码恢复。
   *[recovered] 您的账户已使用发送到 { $contact } 的代码恢复。
}如果这不是您本人的操作，请立即恢复您的账户；恢复后 { notice-days } 内，您之前的联系方式可以撤销对安全信息的更改。
