#!/usr/bin/python3
"""t/client/authlib_flow.py — a real OAuth client library against mod_oauth_as.

    /usr/bin/python3 t/client/authlib_flow.py AS_ORIGIN CLIENT [SECRET]

Debian's python3-authlib (OAuth2Session, the requests integration) runs the
authorization code flow with PKCE (S256), as an application would: authlib makes the
authorization URL, exchanges the code (fetch_token), refreshes (refresh_token) and
calls a protected page with the token.  There is no OAuth client code here beyond
calling authlib: the only other part is the user agent's, which this script plays
with plain requests — alice logs in with Basic auth, gets the approval page, submits
its form with decision=approve, and the redirect's Location (never followed: the
redirect URI is a registered https://*.example/cb) is handed to authlib as the
authorization_response.

CLIENT: spa (public: token_endpoint_auth_method none, client_id in the body) or
webapp (confidential: client_secret_basic with SECRET).  Prints one JSON object with
what each step returned; t/22_authlib.t judges it.  Exit 0 when every step ran.
"""
import html.parser
import json
import sys
import traceback
import urllib.parse

import requests
import urllib3
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

REDIRECT = {"spa": "https://spa.example/cb", "webapp": "https://app.example/cb"}
SCOPE = {"spa": "read", "webapp": "read write"}
USER = ("alice", "wonderland")


class FormReader(html.parser.HTMLParser):
    """The user agent's part: the approval form's action and inputs."""

    def __init__(self):
        super().__init__()
        self.action, self.method, self.fields, self.buttons = None, None, [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action, self.method = a.get("action", ""), a.get("method", "get")
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "button" and a.get("name"):
            self.buttons.append((a["name"], a.get("value", "")))


def main():
    as_origin, client = sys.argv[1], sys.argv[2]
    secret = sys.argv[3] if len(sys.argv) > 3 else None
    urllib3.disable_warnings()          # the test server's certificate is self-signed
    out = {"client": client}
    authorize = as_origin + "/oauth/authorize"
    token_url = as_origin + "/oauth/token"

    if secret:
        session = OAuth2Session(client, secret, token_endpoint_auth_method="client_secret_basic",
                                scope=SCOPE[client], redirect_uri=REDIRECT[client],
                                code_challenge_method="S256")
    else:
        session = OAuth2Session(client, token_endpoint_auth_method="none",
                                scope=SCOPE[client], redirect_uri=REDIRECT[client],
                                code_challenge_method="S256")
    # a self-signed test certificate, and loopback only: no CA bundle or proxy from the
    # environment (requests lets REQUESTS_CA_BUNDLE override .verify unless trust_env
    # is off)
    session.verify, session.trust_env = False, False

    # 1. authlib makes the authorization URL, with state and the S256 challenge
    code_verifier = generate_token(48)
    url, state = session.create_authorization_url(authorize, code_verifier=code_verifier)
    out["authorization_url"] = url
    out["state"] = state

    # 2. the user agent: log in, read the approval page, approve
    ua = requests.Session()
    ua.verify, ua.trust_env = False, False
    ua.auth = USER
    page = ua.get(url, allow_redirects=False)
    out["page_status"] = page.status_code
    form = FormReader()
    form.feed(page.text)
    out["page_buttons"] = form.buttons
    out["page_method"] = form.method
    decision = ua.post(urllib.parse.urljoin(url, form.action),
                       data=form.fields + [("decision", "approve")], allow_redirects=False)
    out["decision_status"] = decision.status_code
    location = decision.headers.get("Location", "")
    out["location"] = location

    # 3. authlib: the code for tokens (checks state; sends code_verifier and, for a
    #    public client, client_id; for webapp, HTTP Basic)
    token = session.fetch_token(token_url, authorization_response=location,
                                code_verifier=code_verifier)
    out["token"] = dict(token)

    # 4. the protected page with the access token
    r = session.get(as_origin + "/authlib/protected/")
    out["protected_status"] = r.status_code
    out["protected_body"] = r.text

    # 5. authlib refreshes, and the new token works too
    new = session.refresh_token(token_url)
    out["refreshed"] = dict(new)
    r = session.get(as_origin + "/authlib/protected/")
    out["protected_after_refresh_status"] = r.status_code

    # 6. and without a token: refused
    anon = requests.Session()
    anon.verify, anon.trust_env = False, False
    r = anon.get(as_origin + "/authlib/protected/")
    out["anonymous_status"] = r.status_code
    out["anonymous_www_authenticate"] = r.headers.get("WWW-Authenticate", "")
    return out


if __name__ == "__main__":
    try:
        result = main()
        rc = 0
    except Exception as e:  # report, for the .t to show
        result = {"error": "%s: %s" % (type(e).__name__, e), "trace": traceback.format_exc()}
        rc = 1
    print(json.dumps(result))
    sys.exit(rc)
