package flyteauth

import "log/slog"

// LevelTrace is the slog level of the library's TRACE records (below [slog.LevelDebug]); see
// [SetLogger].
const LevelTrace = slog.LevelDebug - 4
