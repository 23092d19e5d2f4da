package flyteauth

import (
	"io"
	"net/http"
)

// Transport is an [http.RoundTripper] that adds the Authenticator's headers to every request
// and recovers from one rejection: when the server answers 401 Unauthorized, it calls
// [Authenticator.Invalidate] with the auth header value it sent, then sends the request
// again, once, with the new headers. It retries only a request whose body can be sent
// again: one without a body, or with GetBody set (http.NewRequest sets it for
// *bytes.Buffer, *bytes.Reader and *strings.Reader bodies); otherwise it returns the 401
// response, and later requests get the new credentials.
//
//	client := &http.Client{Transport: &flyteauth.Transport{Auth: auth}}
//
// Errors from the Authenticator are returned as they are, so errors.Is(err,
// flyteauth.ErrAuthentication) and the like work through (*http.Client).Do's *url.Error.
//
// Like oauth2.Transport, it adds the headers to every request it sends, including redirects
// that the http.Client follows to other hosts: use it in a client for the Flyte endpoint
// only, or set the client's CheckRedirect.
type Transport struct {
	// Auth provides the headers. Required.
	Auth *Authenticator
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements [http.RoundTripper].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	s, err := t.Auth.snapshot(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base().RoundTrip(withHeaders(req, s, req.Body))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}

	_, rejected := Headers{s}.Auth()
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable {
		// Cannot retry, but the next request should not carry the rejected value.
		_ = t.Auth.Invalidate(ctx, rejected)
		return resp, nil
	}
	if err := t.Auth.Invalidate(ctx, rejected); err != nil {
		discard(resp)
		return nil, err
	}
	if s, err = t.Auth.snapshot(ctx); err != nil {
		discard(resp)
		return nil, err
	}
	body := req.Body
	if req.GetBody != nil && body != nil && body != http.NoBody {
		if body, err = req.GetBody(); err != nil {
			discard(resp)
			return nil, err
		}
	}
	discard(resp)
	return t.base().RoundTrip(withHeaders(req, s, body))
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// withHeaders returns a shallow copy of req with body and a copy of its headers plus the
// snapshot's (a RoundTripper must not modify the request it was given).
func withHeaders(req *http.Request, s *snapshot, body io.ReadCloser) *http.Request {
	r := new(http.Request)
	*r = *req
	r.Body = body
	r.Header = make(http.Header, len(req.Header)+len(s.keys))
	for k, v := range req.Header {
		r.Header[k] = append([]string(nil), v...)
	}
	for i, k := range s.keys {
		r.Header.Set(k, s.values[i])
	}
	return r
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// discard reads a little of resp's body, so the connection can be reused, and closes it.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
}
