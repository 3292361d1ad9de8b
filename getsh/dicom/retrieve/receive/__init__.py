"""getsh's own receive path for a C-GET: the association's socket borrowed from pynetdicom
(handover), the socket behind five calls (transport), the exchange on one thread (direct_get) over
its buffer and the message being received (message), command sets as bytes (wire), and where each
data set goes (sinks). This is the seam that would go away if pynetdicom gained an
exclusive-transport hook."""
