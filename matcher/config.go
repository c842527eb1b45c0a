package matcher

import (
	"slices"
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
	// Minutes is how long the job takes, for fitting a volunteer's jobs
	// with windows one after another (see busy.go); 0 means an hour.
	Minutes int
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

// FromAfar says whether help with n can be given from anywhere, as a
// befriending call can ("other" may be advice by phone). Every other need
// takes someone to the door or beside the person, so remote_ok cannot lift
// the distance rule for it: a volunteer 80 km away cannot do the shopping.
// An unknown need counts as in person, the safe side.
func FromAfar(n pb.Need) bool {
	return n == pb.Need_NEED_BEFRIENDING_CALL || n == pb.Need_NEED_OTHER
}

// Remote says whether r's help can come from anywhere: it is remote_ok,
// every need can be met from afar and nobody goes inside. A request stored
// before the server refused other mixes (remote_ok with shopping, say)
// keeps the distance rule of its needs.
func Remote(r *pb.HelpRequest) bool {
	return r.GetRemoteOk() && !r.GetEntersHome() && len(r.GetNeeds()) > 0 && !slices.ContainsFunc(r.GetNeeds(), func(n pb.Need) bool { return !FromAfar(n) })
}

// DefaultConfig returns the defaults: walking-scale needs within 1.5 km,
// food parcels within 3 km, lifts within 8 km by a driver with a basic DBS
// check, befriending calls with a basic check, and an enhanced check for
// anyone who goes inside the home; a lift takes two hours, shopping an hour
// and a half, a prescription 45 minutes, a parcel or a call half an hour,
// anything else an hour.
func DefaultConfig() Config {
	walk := func(minutes int) NeedRule { return NeedRule{MaxMetres: 1500, Minutes: minutes} }
	return Config{
		Needs: map[pb.Need]NeedRule{
			pb.Need_NEED_GROCERY_SHOPPING:        walk(90),
			pb.Need_NEED_PRESCRIPTION_COLLECTION: walk(45),
			pb.Need_NEED_HOT_MEAL:                walk(60),
			pb.Need_NEED_FOOD_PARCEL:             {MaxMetres: 3000, Minutes: 30},
			pb.Need_NEED_BEFRIENDING_CALL:        {MaxMetres: 1500, MinVetting: pb.Vetting_DBS_LEVEL_BASIC, Minutes: 30},
			pb.Need_NEED_DOG_WALKING:             walk(60),
			pb.Need_NEED_TRANSPORT:               {MaxMetres: 8000, MinVetting: pb.Vetting_DBS_LEVEL_BASIC, Skills: []string{"driver"}, Minutes: 120},
			pb.Need_NEED_ERRANDS:                 walk(60),
			pb.Need_NEED_OTHER:                   walk(60),
		},
		EntersHomeVetting:  pb.Vetting_DBS_LEVEL_ENHANCED,
		SameStreetMetres:   200,
		SamePostcodeMetres: 100,
		FairnessMetres:     250,
		FairnessWindow:     7 * 24 * time.Hour,
		ContinuityMetres:   500,
	}
}
