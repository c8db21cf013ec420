"""reformdiag: turn a bundle of cluster logs into one timeline and a diagnosis.

Data flows ingest -> parse -> timeline -> diagnose -> report; the folders of this
package follow that path (see ARCHITECTURE.md).
"""

__version__ = "0.1.0"
