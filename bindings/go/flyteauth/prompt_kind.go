package flyteauth

// PromptKind says what a login prompt asks the person to do.
type PromptKind int

// The kinds of login prompt (the C ABI's flyteauth_prompt_kind).
const (
	// PromptBrowser: open URL in a browser and log in (PKCE). UserCode is empty.
	PromptBrowser PromptKind = 1
	// PromptDeviceCode: open URL (the verification URI, with the code filled in when the
	// server allows it) and enter UserCode (device flow).
	PromptDeviceCode PromptKind = 2
)

// A Prompt asks the person to log in, for the PKCE ("Pkce") and device ("DeviceFlow")
// flows. The library always writes it to stderr too.
type Prompt struct {
	Kind     PromptKind
	URL      string
	UserCode string
}
