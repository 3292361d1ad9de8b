"""What getsh knows, in words: ``explain`` of a DIMSE status (``statuses.py``, its texts in
``status_texts.py``), a UID (``uids.py``), and an association's reject or abort (``associations.py``).
Keywords and tags are explained by ``dicom/keys/dictionary.py``."""

from getsh.dicom.explain.associations import Ending, ending_names, explain_endings
from getsh.dicom.explain.statuses import STATUS_FORMS, StatusExplanation, StatusMeaning, status_of, status_words
from getsh.dicom.explain.uids import UidExplanation, explain_uid, looks_like_uid, uid_of, uid_words

__all__ = ["STATUS_FORMS", "Ending", "StatusExplanation", "StatusMeaning", "UidExplanation", "ending_names",
           "explain_endings", "explain_uid", "looks_like_uid", "status_of", "status_words", "uid_of", "uid_words"]
