code-expiry = { $minutes }分

code-why = { $purpose ->
    [add_security_info] { $what ->
        [email] このメールアドレスの登録に使用してください。
       *[phone] この電話番号の登録に使用してください。
    }
    [change_phone] 電話番号の変更を確認するために使用してください。
    [recovery] アカウントを回復するために使用してください。
   *[identity_check] ご本人確認のために使用してください。
}

code-subject = { $purpose ->
    [recovery] アカウント回復コード
   *[other] セキュリティコード
}

code-sms = セキュリティコード: { $code } { code-why } 有効期限は{ code-expiry }です。

code-email-text =
    セキュリティコードは { $code } です。

    { code-why } 有効期限は{ code-expiry }です。

    このコードに心当たりがない場合は、このメッセージを無視し、コードを誰にも教えないでください。

code-email-html =
    <p>セキュリティコードは <strong>{ $code }</strong> です。</p>
    <p>{ code-why } 有効期限は{ code-expiry }です。</p>
    <p>このコードに心当たりがない場合は、このメッセージを無視し、コードを誰にも教えないでください。</p>

code-voice = セキュリティコードは、{ $spoken }、です。もう一度繰り返します、{ $spoken }。有効期限は{ code-expiry }です。

## Said first when a call reads the code only after a key press.
code-voice-prompt = セキュリティコードを聞くには、いずれかのキーを押してください。

## The warning after an SMS or call when the application asks for it.
code-do-not-share = 誰にも教えないでください。

## The payment a code is bound to (PSD2), after the code's sentence:
## $amount (as shown, with its currency) and $payee.
code-transaction = 金額: { $amount } 支払先: { $payee }

notice-subject = { $event ->
    [added] セキュリティ情報が追加されました
    [replaced] セキュリティ情報が追加されました
    [removed] セキュリティ情報が削除されました
   *[recovered] アカウントが回復されました
}

notice-days = { $days ->
   *[other] { $days } 日間
}

notice-body = { $event ->
    [added] { $contact } がアカウントのセキュリティ情報に追加されました。
    [replaced] アカウントのセキュリティ情報で { $old } が { $contact } に置き換えられました。
    [removed] { $contact } がアカウントのセキュリティ情報から削除されました。
    [recovered_with_code] 回復コードでアカウントが回復され、新しい回復コードが作成されました。
    [recovered_with_app] 認証アプリのコードでアカウントが回復されました。
   *[recovered] { $contact } に送信されたコードでアカウントが回復されました。
} 心当たりがない場合は、今すぐアカウントを回復してください。回復後 { notice-days }は、以前の連絡先でセキュリティ情報の変更を取り消せます。
