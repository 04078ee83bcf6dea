"""Solution of network-backprop: the seven lines of :func:`tinygrad_edu.manual.backward` itself."""

from tinygrad_edu import manual
from tinygrad_edu.manual import network
from tinygrad_edu.exercises.catalogue import marked_section

_RETURN = "return {" + ", ".join(f'"{name}": {name}' for name in manual.GRAD_NAMES) + "}\n"
BODIES = {"backward": marked_section(network, "backward") + _RETURN}
