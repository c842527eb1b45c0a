package matcher

import (
	"time"

	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// NeedRule is what one kind of need demands of a volunteer.
type NeedRule struct {
	// MaxMetres is how far from the request a volunteer may live.
	MaxMetres float64
	// MinVetting is the DBS level the need demands.
	MinVetting pb.Vetting_DbsLevel
	// Skills are tags every volunteer for the need must have.
	Skills []string
}

// Config holds the rules and the ranking weights. Weights are in metres so
// that a score reads as "as good as being this much nearer".
type Config struct {
	Needs map[pb.Need]NeedRule
	// EntersHomeVetting is the level needed when the volunteer goes inside.
	EntersHomeVetting pb.Vetting_DbsLevel
	// SameStreetMetres and SamePostcodeMetres are bonuses for living on the
	// same street, and in the same postcode unit, as the request.
	SameStreetMetres   float64
	SamePostcodeMetres float64
	// FairnessMetres is added for each assignment in FairnessWindow, so
	// that the same few people are not worn out.
	FairnessMetres float64
	FairnessWindow time.Duration
	// ContinuityMetres is the bonus for having helped the requester before.
	ContinuityMetres float64
}

// DefaultConfig returns the defaults: walking-scale needs within 1.5 km,
// food parcels within 3 km, lifts within 8 km by a driver with a basic DBS
// check, befriending calls with a basic check, and an enhanced check for
// anyone who goes inside the home.
func DefaultConfig() Config {
	walk := NeedRule{MaxMetres: 1500}
	return Config{
		Needs: map[pb.Need]NeedRule{
			pb.Need_NEED_GROCERY_SHOPPING:        walk,
			pb.Need_NEED_PRESCRIPTION_COLLECTION: walk,
			pb.Need_NEED_HOT_MEAL:                walk,
			pb.Need_NEED_FOOD_PARCEL:             {MaxMetres: 3000},
			pb.Need_NEED_BEFRIENDING_CALL:        {MaxMetres: 1500, MinVetting: pb.Vetting_DBS_LEVEL_BASIC},
			pb.Need_NEED_DOG_WALKING:             walk,
			pb.Need_NEED_TRANSPORT:               {MaxMetres: 8000, MinVetting: pb.Vetting_DBS_LEVEL_BASIC, Skills: []string{"driver"}},
			pb.Need_NEED_ERRANDS:                 walk,
			pb.Need_NEED_OTHER:                   walk,
		},
		EntersHomeVetting:  pb.Vetting_DBS_LEVEL_ENHANCED,
		SameStreetMetres:   200,
		SamePostcodeMetres: 100,
		FairnessMetres:     250,
		FairnessWindow:     7 * 24 * time.Hour,
		ContinuityMetres:   500,
	}
}
