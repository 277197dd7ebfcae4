"""What a run leaves and listens to, for anyone to read: its events (:mod:`.events`),
its journal (:mod:`.journal`), its control file (:mod:`.control`) and its checkpoints
(:mod:`.checkpoint`).  Records never import the engine that writes them (an
import-linter contract)."""
