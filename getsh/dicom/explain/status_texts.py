"""What each DIMSE status means for the person at the keyboard: the words of PS3.4/PS3.7 in plain terms,
what usually causes it on a real PACS, and what to try — in getsh and at the archive.

Data only: ``statuses.py`` finds the entry for a code and a service. An entry names the services it is
written for (the keys of ``SERVICES``) and the codes it covers (one code, or a range PS3.4 gives one
meaning: 0xA7xx, 0xCxxx). Services getsh never uses (print, worklist, UPS …) get one entry per service in
``FAMILIES``: pynetdicom's words for the code, and what that service is and where to look.
"""

from __future__ import annotations

from dataclasses import dataclass

# pynetdicom.status table → (service key, how the user knows the service). Q/R first: shown in this order.
SERVICES: dict[str, tuple[str, str]] = {
    "QR_GET_SERVICE_CLASS_STATUS": ("get", "C-GET"),
    "QR_MOVE_SERVICE_CLASS_STATUS": ("move", "C-MOVE"),
    "QR_FIND_SERVICE_CLASS_STATUS": ("find", "C-FIND"),
    "STORAGE_SERVICE_CLASS_STATUS": ("store", "C-STORE"),
    "VERIFICATION_SERVICE_CLASS_STATUS": ("echo", "C-ECHO"),
    "GENERAL_STATUS": ("general", "every service (C-ECHO, C-FIND, C-GET, C-MOVE, C-STORE …)"),
    "MODALITY_WORKLIST_SERVICE_CLASS_STATUS": ("worklist", "C-FIND of the Modality Worklist"),
    "RELEVANT_PATIENT_SERVICE_CLASS_STATUS": ("relevant", "C-FIND of Relevant Patient Information"),
    "SUBSTANCE_ADMINISTRATION_SERVICE_CLASS_STATUS": ("substance", "C-FIND of Substance Administration"),
    "NON_PATIENT_SERVICE_CLASS_STATUS": ("nonpatient", "C-STORE of Non-Patient Objects"),
    "STORAGE_COMMITMENT_SERVICE_CLASS_STATUS": ("commitment", "N-ACTION of Storage Commitment"),
    "STORAGE_MANAGEMENT_SERVICE_CLASS_STATUS": ("storagemgmt", "Storage Management (inventory)"),
    "APPLICATION_EVENT_LOGGING_SERVICE_CLASS_STATUS": ("eventlog", "N-ACTION of Application Event Logging"),
    "MEDIA_CREATION_MANAGEMENT_SERVICE_CLASS_STATUS": ("media", "Media Creation Management (N-CREATE, N-ACTION)"),
    "PRINT_JOB_MANAGEMENT_SERVICE_CLASS_STATUS": ("print", "Print Management (N-CREATE, N-SET, N-ACTION)"),
    "PROCEDURE_STEP_STATUS": ("procstep", "Modality Performed Procedure Step (N-CREATE, N-SET)"),
    "RT_MACHINE_VERIFICATION_SERVICE_CLASS_STATUS": ("rtverify", "RT Machine Verification (N-CREATE, N-ACTION)"),
    "UNIFIED_PROCEDURE_STEP_SERVICE_CLASS_STATUS": ("ups", "Unified Procedure Step (N-CREATE, N-SET, N-ACTION, "
                                                           "C-FIND)"),
}
QR = frozenset({"get", "move", "find", "store", "echo", "general"})
RETRIEVE = frozenset({"get", "move"})
QUERY = frozenset({"find", "worklist", "relevant", "substance"})
STORE = frozenset({"store", "nonpatient"})
ALL = frozenset(key for key, _ in SERVICES.values())

STATUS_OF = "status --rejected lists the presentation contexts the peer refused"


@dataclass(frozen=True)
class Advice:
    """One meaning: the codes ``first``..``last`` under ``services``."""

    first: int
    last: int
    services: frozenset[str]
    meaning: str
    cause: str
    remedy: str

    @property
    def span(self) -> int:
        return self.last - self.first


def _one(code: int, services: frozenset[str], meaning: str, cause: str, remedy: str) -> Advice:
    return Advice(code, code, services, meaning, cause, remedy)


ADVICE: tuple[Advice, ...] = (
    # --- success, pending, cancel ------------------------------------------------------------------
    _one(0x0000, ALL, "the request completed",
         "—",
         "nothing to do; after a C-GET read the counts: Success with 0 sub-operations means nothing matched "
         "the keys (find shows what the archive holds)"),
    _one(0xFF00, RETRIEVE, "pending: the retrieve goes on; the response counts what is remaining, completed, "
                           "failed and warned so far",
         "a normal step: one such response comes per object (or per few objects) while they are sent",
         "nothing; if the counts stop moving, no-progress-timeout and Ctrl-C (C-CANCEL) end it"),
    _one(0xFF00, QUERY, "pending: one match follows in this response; more may come",
         "a normal step of every C-FIND: one pending response per match",
         "nothing; find --limit N (findscu --cancel N) sends C-CANCEL after N matches"),
    _one(0xFF01, QUERY, "pending: a match follows, but the peer did not support some optional keys for matching",
         "the archive ignores a key it cannot match on (a sequence, a time range, a private key): the matches "
         "may be broader than the keys ask",
         "check the matches yourself; match on the required and unique keys of the level (explain KEYWORD "
         "shows each key's role)"),
    _one(0xFE00, ALL, "cancelled: the request ended because the SCU sent C-CANCEL",
         "getsh sent C-CANCEL: Ctrl-C, find --limit / ls-limit, or a retrieve limit (max-objects, max-bytes, "
         "retrieve-timeout, no-progress-timeout); findscu --cancel does the same",
         "what arrived before the cancel is kept (received); get or find again without the limit for the rest"),
    # --- general failures (PS3.7 C.4), mostly of the N-services ----------------------------------
    _one(0x0105, ALL, "no such attribute: the request names an attribute the peer does not know",
         "a private or retired tag in the identifier, or a tag the peer's data dictionary lacks",
         "keys shows the identifier; unkey the tag; explain KEYWORD says whether it is a key of the model"),
    _one(0x0106, ALL, "invalid attribute value: the peer refuses a value of the request",
         "a value the peer cannot parse: a date not YYYYMMDD or a range it does not support, a UID with "
         "letters or leading zeros, text past the VR's length",
         "keys shows the values; explain KEYWORD shows the VR; correct the value with key KEYWORD=VALUE"),
    _one(0x0107, ALL, "warning, attribute list error: the operation was done, but some attributes were not",
         "an N-SET or N-CREATE with attributes the peer does not support; the response lists them",
         "usually harmless; the peer's log names the attributes it left out"),
    _one(0x0110, ALL, "processing failure: the peer failed while doing the request",
         "a fault inside the peer: its database, its file system, an exception. getsh answers a C-STORE with "
         "it when its output directory vanished or cannot be written (a permission, a read-only disk)",
         "the peer's log says why (the Error Comment is shown when it sent one); for getsh's own answer: "
         "check the output directory (set output DIR)"),
    _one(0x0111, ALL, "duplicate SOP instance: an instance with this SOP Instance UID exists already",
         "an N-CREATE (or a strict C-STORE SCP) given a UID it holds: a re-sent object, or two objects given "
         "the same UID by a faulty modality",
         "for a re-send, nothing; otherwise the sender must give new objects new UIDs"),
    _one(0x0112, ALL, "no such SOP instance: the instance the request names does not exist at the peer",
         "a SOP Instance UID that is not (or no longer) in the archive: deleted, never stored, a typo",
         "find at IMAGE level with the study's and series' UIDs lists the instances it holds"),
    _one(0x0113, ALL, "no such event type (N-EVENT-REPORT)", "an event type the receiver does not define",
         "not a retrieve problem: the two systems disagree on the service's version; check both conformance "
         "statements"),
    _one(0x0114, ALL, "no such argument (N-ACTION)", "an action argument the peer does not define",
         "not a retrieve problem: check the peer's conformance statement for the action's arguments"),
    _one(0x0115, ALL, "invalid argument value (N-ACTION)", "an action argument with a value the peer refuses",
         "not a retrieve problem: check the value against the peer's conformance statement"),
    _one(0x0116, ALL, "warning, attribute value out of range: done, but a value was outside what the peer takes",
         "a value past the peer's limits: it was clipped or ignored", "check the value the peer stored"),
    _one(0x0117, ALL, "invalid object instance: the SOP Instance UID of the request is not a valid UID",
         "a malformed UID in the command (letters, leading zeros, over 64 characters)",
         "explain UID checks a UID; the sender must use valid UIDs"),
    _one(0x0118, ALL, "no such SOP class: the peer does not support the SOP class of the request",
         "the command names a SOP class the peer does not implement on this association",
         f"explain UID names the class; {STATUS_OF}"),
    _one(0x0119, ALL, "class-instance conflict: the instance is not of the SOP class the command names",
         "an object whose SOP Class UID differs from the one in the command (a sender's bug)",
         "the sender must send each object under its own class"),
    _one(0x0120, ALL, "missing attribute: a required attribute is not in the request",
         "an N-CREATE or N-SET without a Type 1 attribute", "add the attribute the peer's log names"),
    _one(0x0121, ALL, "missing attribute value: a required attribute is there but empty",
         "an attribute of Type 1 sent with zero length", "give it a value"),
    _one(0x0122, ALL, "refused, SOP class not supported: the receiver takes no objects of this class here",
         "in a C-GET: a C-STORE sub-operation of a class the SCU did not accept (getsh answers 0x0122 when an "
         "object comes on a context that is not its class's); on a C-STORE: a class the receiver does not store",
         f"set accept auto (propose the classes the archive holds) or accept CLASS…; {STATUS_OF}"),
    _one(0x0123, ALL, "no such action (N-ACTION)", "an action type the peer does not define",
         "not a retrieve problem: check the peer's conformance statement"),
    _one(0x0124, ALL, "refused, not authorised: the peer does not allow this request from you",
         "the archive's access control: the calling AE title (aet) or the user is not allowed this service "
         "(getsh's demo archive answers every C-STORE so: it is read-only)",
         "set aet to a title the archive knows and allows; ask its administrator to allow this AE title for "
         "query/retrieve"),
    _one(0x0210, ALL, "duplicate invocation: the Message ID is already in use on this association",
         "an SCU that reused the Message ID of a request still running",
         "re-associate (connect); a getsh that does this is a bug worth reporting"),
    _one(0x0211, ALL, "unrecognised operation: the peer does not perform this command on this context",
         "the peer does not support the DIMSE service asked for: e.g. a C-GET to an archive that only "
         "retrieves with C-MOVE, or a C-FIND on a model it does not offer",
         "try another model (set model study, patient, psonly); if the archive has no C-GET, use C-MOVE"),
    _one(0x0212, ALL, "mistyped argument: a parameter of the command has the wrong type",
         "a malformed command set from the SCU", "re-associate; report it to the maker of the sending program"),
    _one(0x0213, ALL, "resource limitation: the peer is out of resources for the moment",
         "the archive is busy (too many associations or requests, memory, threads)",
         "try again later, with a narrower request (one study at a time)"),
    # --- C-FIND, worklist and other queries ---------------------------------------------------------
    _one(0xA700, QUERY, "refused, out of resources: the archive will not run this query",
         "too many matches for it to gather (a query for every patient, a wildcard name), or it is overloaded",
         "narrow the keys: a PatientID, a StudyDate range (StudyDate=20240101-20240131), a lower level; "
         "find --limit N"),
    _one(0xA710, frozenset({"find"}), "invalid prior record key (C-FIND with a paged query)",
         "a record key from an earlier response the archive no longer accepts",
         "run the query again from the start"),
    _one(0xA900, QUERY | RETRIEVE, "identifier does not match SOP class: the keys are wrong for the model",
         "no QueryRetrieveLevel, a level the model does not have (study root has no PATIENT level), a C-GET "
         "without the unique keys of the levels above (SERIES level needs StudyInstanceUID; patient root "
         "needs PatientID too), a value of the wrong VR",
         "keys lists the identifier and warns about what is missing; level LEVEL; explain KEYWORD shows its "
         "role at each level; set model study for a model without a patient level"),
    _one(0xB001, frozenset({"find"}), "warning: matching stopped at the archive's response limit; more may match",
         "the archive caps how many matches it returns (Orthanc's LimitFindResults, a PACS's query limit)",
         "narrow the keys (a date range, a modality, a patient) or query in parts"),
    Advice(0xC000, 0xCFFF, QUERY | RETRIEVE, "unable to process: the peer failed the request; the code in the "
                                             "0xCxxx range is the peer's own choice",
         "an identifier the peer cannot handle (a key it does not support, an unknown level — dcmqrscp), an "
         "unknown UID in a C-GET (Orthanc answers 0xC000 and retrieves nothing), or a fault in its database",
         "read the Error Comment getsh shows and the peer's log; find with the same keys shows whether "
         "anything matches; send only the level and its unique keys"),
    # --- C-GET and C-MOVE ---------------------------------------------------------------------------
    _one(0xA701, RETRIEVE, "refused, out of resources: the archive could not count the matches",
         "a retrieve too broad to plan (a whole patient's history, a wildcard), or an overloaded archive",
         "retrieve less at once: one study or series per request (find, then get N for each row)"),
    _one(0xA702, RETRIEVE, "refused, out of resources: the archive could not perform the sub-operations",
         "on a C-GET usually the SCU, not the archive: it did not propose (or the peer did not accept) the "
         "storage SOP class of the objects, or none of the transfer syntaxes they are stored in (a compressed "
         "study, only uncompressed accepted, and an archive that cannot transcode — dcmqrscp), or the peer did "
         "not grant the SCP role. On a C-MOVE: the archive could not deliver to the destination (not "
         "listening, refused the association or the classes)",
         f"{STATUS_OF}; set accept auto (propose the classes the archive holds); set prefer lossless, jpeg8, "
         "rle … (+xs, +xy, +xr) for a compressed study; the Failed SOP Instance UID List in the summary names "
         "the objects. For C-MOVE: check the destination is listening and accepts those classes"),
    _one(0xA801, frozenset({"move"}), "move destination unknown: the archive does not know the Move "
                                      "Destination AE title",
         "the destination is not in the archive's table of known nodes (dcmqrscp: HostTable; Orthanc: "
         "DicomModalities; a PACS: its AE table), or is spelled differently (AE titles are case-sensitive)",
         "ask the archive's administrator to add the destination's AE title, host and port; use exactly that "
         "title as the move destination"),
    _one(0xAA00, RETRIEVE, "none of the frames requested were found in the SOP instance",
         "a frame-level retrieve asking for frames past the object's NumberOfFrames",
         "retrieve the whole instance, or ask for frames it has"),
    _one(0xAA01, RETRIEVE, "unable to create a new object for this SOP class (frame-level retrieve)",
         "the archive cannot build an object of the class from the frames asked", "retrieve the whole instance"),
    _one(0xAA02, RETRIEVE, "unable to extract frames (frame-level retrieve)",
         "the archive cannot take frames out of this object (its transfer syntax, its layout)",
         "retrieve the whole instance"),
    _one(0xAA03, RETRIEVE, "time-based request for an instance that is not time-based (frame-level retrieve)",
         "a time range asked of an object without a time axis", "ask by frame numbers, or the whole instance"),
    _one(0xAA04, RETRIEVE, "invalid request (frame-level retrieve)",
         "a malformed frame list or time range in the identifier", "check the frame-range keys"),
    _one(0xB000, RETRIEVE, "warning: the sub-operations are done, with one or more failures or warnings",
         "some objects came and some did not: a SOP class or transfer syntax not accepted for those, the "
         "receiver refused some (getsh: a full disk, a malformed object), or the archive could not read some "
         "of its own files",
         f"the summary counts the failures and names them (Failed SOP Instance UID List); {STATUS_OF}; set "
         "accept auto or another prefer; received shows what arrived"),
    # --- C-STORE ------------------------------------------------------------------------------------
    Advice(0xA700, 0xA7FF, STORE, "refused, out of resources: the receiver could not store the object",
           "the receiver's disk or quota is full; getsh answers 0xA700 when its output disk is full, and for a "
           "deflated object that inflates past max-inflated",
           "free space, or set output DIR on a disk with room; raise max-inflated for a real large object"),
    Advice(0xA900, 0xA9FF, STORE, "data set does not match SOP class: the receiver refused the object",
           "a strict receiver checks each object against its class and found required attributes missing",
           "the sender's object is incomplete; getsh itself keeps such objects"),
    Advice(0xC000, 0xCFFF, STORE, "cannot understand: the receiver could not read the object",
           "bytes that are not a well-formed data set (truncated, trailing garbage), or a C-STORE without its "
           "SOP Instance UID; getsh answers 0xC210 for a malformed data set (malformed refuse, or normal "
           "storage) and 0xC000 for a request it cannot store",
           "set storage bit-preserving and malformed flag keep the bytes as received, to look at them; the "
           "sender's log says what it sent"),
    _one(0xB000, STORE, "warning, coercion of data elements: stored, but the receiver changed some values",
         "the archive reconciled the object with its records (a patient ID or name, a study UID)",
         "compare what the archive holds with what was sent"),
    _one(0xB006, STORE, "warning, elements discarded: stored without some of its elements",
         "the receiver dropped elements it does not keep (private tags, unknown elements)",
         "nothing, unless the dropped elements mattered"),
    _one(0xB007, STORE, "warning, data set does not match SOP class: stored anyway",
         "the object lacks attributes its class requires; a lenient receiver kept it",
         "the sender's object is incomplete; it was kept"),
    # --- the other query services, by their own meaning --------------------------------------------
    _one(0xC100, frozenset({"relevant"}), "more than one match found: the query must identify one patient",
         "keys that match several patients", "query by PatientID with its issuer"),
    _one(0xC200, frozenset({"relevant"}), "unable to support the requested template",
         "a Content Template the archive does not produce", "ask for a template it supports"),
)

# Services getsh does not use: what each is, and what to do when its status turns up.
FAMILIES: dict[str, tuple[str, str]] = {
    "worklist": ("the worklist server refused or could not match the modality's query",
                 "not a retrieve problem: check the worklist query keys (ScheduledProcedureStepSequence) and the "
                 "worklist server's log"),
    "relevant": ("the archive could not answer the query for relevant patient information",
                 "not a retrieve problem: check the patient keys and the template asked for"),
    "substance": ("the substance administration server could not answer the query",
                  "not a retrieve problem: check the query keys and the server's log"),
    "nonpatient": ("the receiver could not store the non-patient object (a hanging protocol, a color palette …)",
                   "not a retrieve problem: check the receiver's storage and the object"),
    "commitment": ("the archive could not commit (take responsibility for) the objects asked",
                   "not a retrieve problem: check that the objects were stored, and the archive's log"),
    "storagemgmt": ("the archive could not run the inventory request as asked",
                    "not a retrieve problem: check the keys the archive supports for matching"),
    "eventlog": ("the event logger could not record the procedural event as sent",
                 "not a retrieve problem: check the event's Study Instance UID and patient IDs against the "
                 "logger's current studies"),
    "media": ("the media creation server refused or could not carry out the request",
              "not a retrieve problem: check the state of the media creation request on the server"),
    "print": ("the printer (a DICOM print SCP) could not print as asked",
              "not a retrieve problem: check the film session, box and image box sizes and the printer's queue"),
    "procstep": ("the performed procedure step server did not take every attribute sent",
                 "not a retrieve problem: check the MPPS attributes against its conformance statement"),
    "rtverify": ("the RT machine verification server could not verify the plan's beam as asked",
                 "not a retrieve problem: check the referenced RT plan, fraction group and beam numbers"),
    "ups": ("the worklist manager refused the change to the Unified Procedure Step",
            "not a retrieve problem: check the UPS's state, its Transaction UID and the performer"),
}
