package geo

import "math"

// EarthRadiusMetres is the mean radius used for all distances here.
const EarthRadiusMetres = 6371008.8

// ValidLatLng reports whether lat and lng are finite and on Earth.
func ValidLatLng(lat, lng float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lng) && lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180
}

// NullIsland reports whether lat, lng is 0, 0: what missing coordinates
// read as (a sheet's empty cells, a field never set, a directory's postcode
// without a grid reference), in the sea off Africa, where nobody a group
// here serves lives. Taken as a place, it makes everyone given it
// neighbours 0 m apart.
func NullIsland(lat, lng float64) bool {
	return lat == 0 && lng == 0
}

// IsPlace reports whether lat, lng can be taken as where someone is: on
// Earth, and not 0, 0 (NullIsland). What fails it is left out of matching
// rather than matched.
func IsPlace(lat, lng float64) bool {
	return ValidLatLng(lat, lng) && !NullIsland(lat, lng)
}

// DistanceMetres is the great-circle distance between two points, by the
// haversine formula, which stays accurate at street scale.
func DistanceMetres(lat1, lng1, lat2, lng2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLng := (lng2 - lng1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * EarthRadiusMetres * math.Asin(math.Min(1, math.Sqrt(a)))
}
