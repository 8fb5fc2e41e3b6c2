import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The small HTML page a browser gets for a password link (API.md "Password-protected links"):
/// a form that posts the password to the link itself, in the web app's look and under its
/// Content-Security-Policy (no script at all). Its 401 carries a challenge browsers do not answer
/// with their own dialog (`Form`, not `Basic`), so the person sees this page.
enum LinkPasswordPage {
    /// The challenge of the page's 401.
    static let challenge = "Form realm=\"Ferry link\""

    /// The page for the link at `path` (`/t/{token}`), with an error line when `error` is set.
    static func response(
        path: String, status: HTTPResponse.Status, error: String?, retryAfter: Int? = nil
    )
        -> Response
    {
        let errorLine = error.map { "<p class=\"error\" role=\"alert\" id=\"password-error\">\(escape($0))</p>" } ?? ""
        let described = error == nil ? "" : " aria-describedby=\"password-error\""
        let html = """
            <!doctype html>
            <html lang="en">
            <head>
              <meta charset="utf-8">
              <meta name="viewport" content="width=device-width, initial-scale=1">
              <title>Password needed · Ferry</title>
              <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
              <link rel="stylesheet" href="/assets/app.css">
            </head>
            <body>
              <header class="top"><span class="brand">Ferry</span></header>
              <main id="main">
                <h1>This download needs a password</h1>
                <p class="muted">The person who sent you this link set a password. Type it to start the download.</p>
                \(errorLine)
                <form class="card" method="post" action="\(escape(path))">
                  <label for="password">Password</label>
                  <input id="password" name="password" type="password" autocomplete="current-password" required autofocus\(described)>
                  <button type="submit">Download</button>
                </form>
              </main>
            </body>
            </html>

            """
        var headers = WebController.securityHeaders(connectSources: [])
        // `same-origin`, not the app's `no-referrer`: with no-referrer a browser sends the form's
        // POST with `Origin: null`, which the same-origin check must refuse. The link's token
        // still never leaves for another site.
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        if status == .unauthorized { headers[.wwwAuthenticate] = challenge }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// Whether a request is a browser's that should see the page rather than JSON.
    static func wantsPage(_ request: Request) -> Bool {
        request.method == .get && (request.headers[.accept]?.contains("text/html") ?? false)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
