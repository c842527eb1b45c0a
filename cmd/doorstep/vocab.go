package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/doorstep-aid/doorstep/client"
	pb "github.com/doorstep-aid/doorstep/proto/doorstep/v1"
)

// needChoices is the numbered list shown at the prompt, in enum order.
var needChoices = []struct {
	need  pb.Need
	words []string // the first is the name shown
}{
	{pb.Need_NEED_GROCERY_SHOPPING, []string{"grocery_shopping", "shopping", "groceries", "grocery", "food_shopping"}},
	{pb.Need_NEED_PRESCRIPTION_COLLECTION, []string{"prescription_collection", "prescription", "prescriptions", "medicine", "pharmacy"}},
	{pb.Need_NEED_HOT_MEAL, []string{"hot_meal", "meal", "meals", "dinner"}},
	{pb.Need_NEED_FOOD_PARCEL, []string{"food_parcel", "parcel", "food_bank", "foodbank"}},
	{pb.Need_NEED_BEFRIENDING_CALL, []string{"befriending_call", "befriending", "call", "phone_call", "chat"}},
	{pb.Need_NEED_DOG_WALKING, []string{"dog_walking", "dog", "dogs", "dog_walk"}},
	{pb.Need_NEED_TRANSPORT, []string{"transport", "lift", "lifts", "drive", "appointment"}},
	{pb.Need_NEED_ERRANDS, []string{"errands", "errand", "post", "letters"}},
	{pb.Need_NEED_OTHER, []string{"other"}},
}

// parseNeeds reads "grocery_shopping,prescription_collection", "1 2",
// "shopping and prescription" or NEED_HOT_MEAL.
func parseNeeds(s string) ([]pb.Need, error) {
	norm := strings.NewReplacer(",", " ", ";", " ", "+", " ", "&", " ", "/", " ").Replace(strings.ToLower(s))
	var out []pb.Need
	seen := map[pb.Need]bool{}
	words := strings.Fields(norm)
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "and" {
			continue
		}
		// Names of two words ("dog walking", "hot meal") may come unjoined.
		if i+1 < len(words) {
			if n, ok := needOf(w + "_" + words[i+1]); ok {
				if !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
				i++
				continue
			}
		}
		n, ok := needOf(w)
		if !ok {
			return nil, fmt.Errorf("%q is not a need: choose from %s (or their numbers 1-%d)", w, needNames(), len(needChoices))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("give at least one need: " + needNames())
	}
	return out, nil
}

func needOf(w string) (pb.Need, bool) {
	if i, err := strconv.Atoi(w); err == nil {
		if i >= 1 && i <= len(needChoices) {
			return needChoices[i-1].need, true
		}
		return 0, false
	}
	w = strings.TrimPrefix(strings.ReplaceAll(w, "-", "_"), "need_")
	for _, c := range needChoices {
		for _, name := range c.words {
			if w == name {
				return c.need, true
			}
		}
	}
	return 0, false
}

func needNames() string {
	var names []string
	for _, c := range needChoices {
		names = append(names, c.words[0])
	}
	return strings.Join(names, ", ")
}

func parseUrgency(s string) (pb.Urgency, error) {
	switch strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "urgency_") {
	case "", "normal", "2", "medium", "usual":
		return pb.Urgency_URGENCY_NORMAL, nil
	case "low", "1", "whenever":
		return pb.Urgency_URGENCY_LOW, nil
	case "high", "3", "soon", "urgent":
		return pb.Urgency_URGENCY_HIGH, nil
	case "critical", "4", "today", "emergency":
		return pb.Urgency_URGENCY_CRITICAL, nil
	}
	return 0, fmt.Errorf("%q is not an urgency: low, normal, high or critical (1-4)", s)
}

// parseState reads a state for --state; "all" (or empty) is no filter.
func parseState(s string) (pb.HelpRequest_State, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" || s == "ALL" || s == "ANY" {
		return pb.HelpRequest_STATE_UNSPECIFIED, nil
	}
	if s == "FULFILED" || s == "DONE" || s == "COMPLETED" {
		s = "FULFILLED"
	}
	if v, ok := pb.HelpRequest_State_value["STATE_"+strings.TrimPrefix(s, "STATE_")]; ok && v != 0 {
		return pb.HelpRequest_State(v), nil
	}
	return 0, fmt.Errorf("%q is not a state: open, offered, assigned, fulfilled, cancelled, expired or all", strings.ToLower(s))
}

// parseStates reads request list --state: states separated by commas or
// spaces ("open,offered"), "in-hand" for open, offered and assigned
// together, or "all" (or empty) for no filter. The states come in order,
// each once.
func parseStates(s string) ([]pb.HelpRequest_State, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, spelling := range []string{"in hand", "in_hand", "inhand"} {
		s = strings.ReplaceAll(s, spelling, "in-hand")
	}
	var out []pb.HelpRequest_State
	for _, word := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '+' }) {
		if word == "or" || word == "and" {
			continue
		}
		switch word {
		case "in-hand", "live", "current":
			out = append(out, client.InHand()...)
			continue
		case "all", "any":
			return nil, nil
		}
		st, err := parseState(word)
		if err != nil {
			return nil, fmt.Errorf("%q is not a state: open, offered, assigned, fulfilled, cancelled, expired, in-hand (open, offered and assigned) or all", word)
		}
		out = append(out, st)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// parseMinUrgency reads request list --urgency: the least urgency listed,
// or no filter for "all" (or empty).
func parseMinUrgency(s string) (pb.Urgency, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "all", "any":
		return pb.Urgency_URGENCY_UNSPECIFIED, nil
	}
	return parseUrgency(strings.TrimSuffix(strings.TrimSpace(s), "+"))
}

// parseOfferState reads an offer's state for offer list --state; "all"
// (or empty) is no filter.
func parseOfferState(s string) (pb.Offer_State, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" || s == "ALL" || s == "ANY" {
		return pb.Offer_STATE_UNSPECIFIED, nil
	}
	if v, ok := pb.Offer_State_value["STATE_"+strings.TrimPrefix(s, "STATE_")]; ok && v != 0 {
		return pb.Offer_State(v), nil
	}
	return 0, fmt.Errorf("%q is not an offer state: pending, accepted, declined, expired, withdrawn or all", strings.ToLower(s))
}

// parseEventTypes reads "offer_created,help_request_created" (or the full
// enum names) for watch --type.
func parseEventTypes(s string) ([]pb.Event_Type, error) {
	var out []pb.Event_Type
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		name := "TYPE_" + strings.TrimPrefix(strings.ToUpper(strings.ReplaceAll(w, "-", "_")), "TYPE_")
		v, ok := pb.Event_Type_value[name]
		if !ok || v == 0 {
			var all []string
			for i := 1; i < len(pb.Event_Type_name); i++ {
				all = append(all, strings.ToLower(strings.TrimPrefix(pb.Event_Type(i).String(), "TYPE_")))
			}
			return nil, fmt.Errorf("%q is not an event type: %s", w, strings.Join(all, ", "))
		}
		out = append(out, pb.Event_Type(v))
	}
	return out, nil
}

// splitList reads "driver, welsh" or "driver welsh".
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
}

// splitLines reads address lines separated by ";" or "|".
func splitLines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '|' || r == '\n' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func parseYesNo(s string, def bool) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return def, nil
	case "y", "yes", "yeah", "yep", "true", "1", "ok":
		return true, nil
	case "n", "no", "nope", "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q: answer yes or no", s)
}

// circumstances are the vulnerability flags, by the words used for them.
var circumstances = []struct {
	name string
	set  func(*pb.Vulnerability)
	get  func(*pb.Vulnerability) bool
}{
	{"lives_alone", func(v *pb.Vulnerability) { v.LivesAlone = true }, (*pb.Vulnerability).GetLivesAlone},
	{"shielding", func(v *pb.Vulnerability) { v.Shielding = true }, (*pb.Vulnerability).GetShielding},
	{"no_internet", func(v *pb.Vulnerability) { v.NoInternet = true }, (*pb.Vulnerability).GetNoInternet},
	{"reduced_mobility", func(v *pb.Vulnerability) { v.ReducedMobility = true }, (*pb.Vulnerability).GetReducedMobility},
}

// parseCircumstances reads "lives alone, shielding", "1,3" or "1 3", as
// needs are read; "none" or empty is none.
func parseCircumstances(s string) (*pb.Vulnerability, error) {
	v := &pb.Vulnerability{}
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "none" || s == "no" {
		return nil, nil
	}
	words := strings.Fields(strings.NewReplacer(",", " ", ";", " ", "+", " ", "&", " ", "/", " ", "_", " ", "-", " ").Replace(s))
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "and" {
			continue
		}
		// Names of two words ("lives alone", "no internet") come as two.
		if i+1 < len(words) && setCircumstance(v, w+"_"+words[i+1]) {
			i++
			continue
		}
		if !setCircumstance(v, w) {
			return nil, fmt.Errorf("%q is not one of: lives alone, shielding, no internet, reduced mobility (or their numbers 1-4)", w)
		}
	}
	return v, nil
}

// setCircumstance sets the circumstance named w (its name, number, or the
// first three letters or more of its name) and reports whether there was
// one.
func setCircumstance(v *pb.Vulnerability, w string) bool {
	for i, c := range circumstances {
		if w == c.name || w == strconv.Itoa(i+1) || strings.HasPrefix(c.name, w) && len(w) >= 3 {
			c.set(v)
			return true
		}
	}
	return false
}

func circumstanceWords(v *pb.Vulnerability) string {
	var out []string
	for _, c := range circumstances {
		if c.get(v) {
			out = append(out, strings.ReplaceAll(c.name, "_", " "))
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ", ")
}
