package clip

import "testing"

func TestClip(t *testing.T) {
	for _, tt := range []struct {
		s           string
		n           int
		text, bytes string
	}{
		{"short", 10, "short", "short"},
		{"exactly10!", 10, "exactly10!", "exactly10!"},
		{"abcdefghijk", 10, "abcdefghij...", "abcdefghij..."},
		{"abcdefghé", 9, "abcdefgh...", "abcdefgh\xc3..."}, // é is 2 bytes at 8-9
		{"€uro", 2, "...", "\xe2\x82..."},                  // € is 3 bytes
		{"", 0, "", ""},
	} {
		if got := Text(tt.s, tt.n); got != tt.text {
			t.Errorf("Text(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.text)
		}
		if got := Bytes(tt.s, tt.n); got != tt.bytes {
			t.Errorf("Bytes(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.bytes)
		}
	}
}
