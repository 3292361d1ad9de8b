"""getsh's own receive path for a C-GET: the association's socket borrowed from pynetdicom
(handover), the exchange on one thread (direct_get), command sets as bytes (wire), and where each
data set goes (sinks). This is the seam that would go away if pynetdicom gained an
exclusive-transport hook."""
