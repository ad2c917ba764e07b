package adaptive

import "errors"

// ErrInvalidOption wraps every option error from New.
var ErrInvalidOption = errors.New("adaptive: invalid option")
