package tracking

import (
	"fmt"
	"math"

	"github.com/patientportal/portal/ent/measurement"
)

// ingestKind is what a type of reading accepts: its one unit (UCUM, as
// devices export it) and the plausible range of its value. A reading
// outside the range is a device or typing error, not a clinical finding,
// so it is refused rather than stored.
type ingestKind struct {
	unit     string
	min, max float64
	// min2 and max2 bound value2 (diastolic) for blood pressure.
	min2, max2 float64
	paired     bool
}

// ingestKinds are the types of reading the portal accepts.
var ingestKinds = map[measurement.Type]ingestKind{
	measurement.TypeGLUCOSE:          {unit: "mmol/L", min: 0.5, max: 50},
	measurement.TypeHEART_RATE:       {unit: "/min", min: 20, max: 300},
	measurement.TypeSTEPS:            {unit: "steps", min: 0, max: 100_000},
	measurement.TypeWEIGHT:           {unit: "kg", min: 1, max: 500},
	measurement.TypeHEIGHT:           {unit: "cm", min: 30, max: 250},
	measurement.TypeBMI:              {unit: "kg/m2", min: 5, max: 150},
	measurement.TypeBLOOD_PRESSURE:   {unit: "mmHg", min: 40, max: 300, min2: 20, max2: 200, paired: true},
	measurement.TypeSPO2:             {unit: "%", min: 50, max: 100},
	measurement.TypeTEMPERATURE:      {unit: "Cel", min: 25, max: 45},
	measurement.TypeRESPIRATORY_RATE: {unit: "/min", min: 2, max: 80},
}

// ingestCheckValue returns why a reading's type, unit and values are
// refused, or "" when they are plausible.
func ingestCheckValue(typ measurement.Type, unit string, value float64, value2 *float64) string {
	k, ok := ingestKinds[typ]
	switch {
	case !ok:
		return fmt.Sprintf("unknown type %q", typ)
	case unit != k.unit:
		return fmt.Sprintf("unit must be %s for %s", k.unit, typ)
	case !ingestInRange(value, k.min, k.max):
		if k.paired {
			return fmt.Sprintf("systolic must be between %g and %g %s", k.min, k.max, k.unit)
		}
		return fmt.Sprintf("value must be between %g and %g %s", k.min, k.max, k.unit)
	case !k.paired && value2 != nil:
		return fmt.Sprintf("value2 is only for %s", measurement.TypeBLOOD_PRESSURE)
	case !k.paired:
		return ""
	case value2 == nil:
		return "diastolic (value2) is required"
	case !ingestInRange(*value2, k.min2, k.max2):
		return fmt.Sprintf("diastolic must be between %g and %g %s", k.min2, k.max2, k.unit)
	case value <= *value2:
		return "systolic must be above diastolic"
	}
	return ""
}

// ingestInRange reports whether v is a number within [lo, hi].
func ingestInRange(v, lo, hi float64) bool {
	return !math.IsNaN(v) && v >= lo && v <= hi
}
