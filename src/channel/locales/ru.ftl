## Russian. See en.ftl for the messages and their variables. The SMS is
## short: Russian needs UCS-2, 70 characters a segment.

## After "через" (in): the accusative.
code-expiry = { $minutes ->
    [one] { $minutes } минуту
    [few] { $minutes } минуты
    [many] { $minutes } минут
   *[other] { $minutes } минуты
}

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] Используйте его, чтобы подтвердить этот адрес электронной почты для своей учетной записи.
       *[phone] Используйте его, чтобы подтвердить этот номер телефона для своей учетной записи.
    }
    [change_phone] Используйте его, чтобы подтвердить смену номера телефона.
    [recovery] Используйте его, чтобы восстановить учетную запись.
   *[identity_check] Используйте его, чтобы подтвердить, что это вы.
}

code-subject = { $purpose ->
    [recovery] Код восстановления учетной записи
   *[other] Ваш код безопасности
}

code-sms = { $purpose ->
    [recovery] Код восстановления: { $code }. Истекает через { code-expiry }.
   *[other] Код безопасности: { $code }. Истекает через { code-expiry }.
}

code-email-text =
    Ваш код безопасности: { $code }.

    { code-why } Он истекает через { code-expiry }.

    Если вы не запрашивали этот код, не обращайте внимания на это сообщение и никому не сообщайте код.

code-email-html =
    <p>Ваш код безопасности: <strong>{ $code }</strong>.</p>
    <p>{ code-why } Он истекает через { code-expiry }.</p>
    <p>Если вы не запрашивали этот код, не обращайте внимания на это сообщение и никому не сообщайте код.</p>

code-voice = Ваш код безопасности: { $spoken }. Повторяю: { $spoken }. Он истекает через { code-expiry }.

## Said first when a call reads the code only after a key press.
code-voice-prompt = Нажмите любую клавишу, чтобы прослушать код безопасности.

## The warning after an SMS or call when the application asks for it.
code-do-not-share = Никому его не сообщайте.

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = Сумма: { $amount }. Получатель: { $payee }.

notice-subject = { $event ->
    [added] Добавлены сведения для защиты
    [replaced] Добавлены сведения для защиты
    [removed] Удалены сведения для защиты
   *[recovered] Учетная запись восстановлена
}

## After "в течение" (for): the genitive.
notice-days = { $days ->
    [one] { $days } дня
    [few] { $days } дней
    [many] { $days } дней
   *[other] { $days } дня
}

notice-body = { $event ->
    [added] Контакт { $contact } добавлен в сведения для защиты вашей учетной записи.
    [replaced] Контакт { $contact } заменил { $old } в сведениях для защиты вашей учетной записи.
    [removed] Контакт { $contact } удален из сведений для защиты вашей учетной записи.
    [recovered_with_code] Ваша учетная запись восстановлена с помощью кода восстановления; создан новый код восстановления.
    [recovered_with_app] Ваша учетная запись восстановлена с помощью кода из приложения для проверки подлинности.
   *[recovered] Ваша учетная запись восстановлена с помощью кода, отправленного на { $contact }.
} Если это были не вы, восстановите учетную запись сейчас; в течение { notice-days } после восстановления ваши прежние контакты могут отменить изменения в сведениях для защиты.
