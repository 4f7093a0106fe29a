package example

// SetBeforeWrite installs a hook that Put calls with the version number it is
// about to take, before it takes it, so that a test can stop a writer there
// while another one runs.
func SetBeforeWrite(s *Store, hook func(n int)) { s.beforeWrite = hook }
