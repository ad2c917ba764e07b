package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ResolveJob turns what a person typed into a job id: the id itself, or a
// prefix of exactly one job's id (ids share their date, so a prefix as long
// as needed tells them apart). An unknown id is ErrJobNotFound; a prefix of
// several is ErrAmbiguousJob, listing them.
func (c *Client) ResolveJob(ctx context.Context, idOrPrefix string) (string, error) {
	_, err := c.Get(ctx, idOrPrefix)
	if err == nil || !errors.Is(err, ErrJobNotFound) || idOrPrefix == "" {
		return idOrPrefix, err
	}
	jobs, lerr := c.List(ctx)
	if lerr != nil {
		return "", errors.Join(err, lerr)
	}
	var matches []string
	for _, j := range jobs {
		if strings.HasPrefix(j.ID, idOrPrefix) {
			matches = append(matches, j.ID)
		}
	}
	switch len(matches) {
	case 0:
		return "", err
	case 1:
		return matches[0], nil
	}
	return "", fmt.Errorf("%w: %q: %s", ErrAmbiguousJob, idOrPrefix, strings.Join(matches, ", "))
}
