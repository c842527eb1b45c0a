package main

import (
	"strings"
	"testing"
)

// TestVolunteerEditCheckGainedNamesNoJob: staff record a new DBS check,
// with the last day it counts, for Aileen, who had none and is assigned a
// job today. Nothing was given up, yet the edit read it as a check
// lowered (an expiry where there was none) and told them the job was
// still hers, to hand back if she should not go, as if she could no longer.
func TestVolunteerEditCheckGainedNamesNoJob(t *testing.T) {
	e := newTestEnv(t)
	_, aileen := e.addVolunteers()
	job := e.newRequest("--when", "today 13:00-15:00", "--postcode", "AB11 5AA", "--street", "Market St")
	e.ok("offer", "accept", firstName(t, e.ok("offer", "make", job, aileen), "offers"))

	r := e.run("volunteer", "edit", aileen, "--dbs", "basic", "--dbs-expires", "2029-06-30")
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "still assigned") {
		t.Errorf("a check gained reads as one given up:\n%s", r.stdout)
	}
}
