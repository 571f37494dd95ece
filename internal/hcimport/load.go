package hcimport

import (
	"context"
	"fmt"
)

// Load reads the checks and channels of both sides and makes the plan.
// The errors say which side failed.
func Load(ctx context.Context, src, dst *Client, channelMap map[string]string) (Plan, error) {
	var in Input
	var err error
	if in.Source, err = src.Checks(ctx); err != nil {
		return Plan{}, fmt.Errorf("source %s: %w", src.URL(), err)
	}
	if in.SourceChannels, err = src.Channels(ctx); err != nil {
		return Plan{}, fmt.Errorf("source %s: %w", src.URL(), err)
	}
	if in.Dest, err = dst.Checks(ctx); err != nil {
		return Plan{}, fmt.Errorf("destination %s: %w", dst.URL(), err)
	}
	if in.DestChannels, err = dst.Channels(ctx); err != nil {
		return Plan{}, fmt.Errorf("destination %s: %w", dst.URL(), err)
	}
	in.ChannelMap = channelMap
	return MakePlan(in), nil
}
