"""`OptimizerChoice`: one of several optimizer classes, picked per member, so that a search's
SGD and Adam trials (say) share one compiled program.

Each member's twin gets an `OptimizerChoice` holding one optimizer of every class in the group
(`kinds`) and `choice`, the index of its own. Every step computes each kind's update rule and keeps
the chosen one's: the member's parameters move exactly as under its own optimizer (the same base
update, learning rate and iteration count, with the chosen rule's numbers). The other kinds' slots
are carried along unread. `choice` is a float of the config, so a `Population` vectorizes it like
any other differing float.

Only *plain* optimizers are combined (`plain`): the base update (no `apply` or `init` of their own),
a float learning rate and none of the base options (weight decay, clipping, loss scaling, EMA),
which the base update would otherwise apply with the wrong kind's settings.

Slots are named "<kind>/<slot>" ("adam/momentum"); `own_slots(slots, kind)` gives back one kind's.
"""

import jax
import jax.numpy as jnp

from lamina.optimizers.base import Optimizer

_BASE = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor")
#: Config keys of the base class: `OptimizerChoice` holds these itself (a plain optimizer's are defaults).
_SHARED = ("name", "learning_rate", "use_ema", "ema_momentum", "ema_overwrite_frequency",
           "gradient_accumulation_steps") + _BASE


def plain(optimizer):
    """Whether `optimizer` can be one kind of an `OptimizerChoice`."""
    return (isinstance(optimizer, Optimizer) and not isinstance(optimizer, OptimizerChoice)
            and type(optimizer).apply is Optimizer.apply and type(optimizer).init is Optimizer.init
            and not optimizer._has_schedule and not optimizer.use_ema
            and all(getattr(optimizer, name) is None for name in _BASE)
            and not optimizer._wd_exclude_uids and optimizer._wd_exclude_pattern is None)


def kind_of(optimizer):
    """The attribute name of `optimizer`'s kind ("adam" for Adam)."""
    return type(optimizer).__name__.lower()


def _kind_config(optimizer):
    return {k: v for k, v in optimizer.get_config().items() if k not in _SHARED}


class OptimizerChoice(Optimizer):
    """The update of `optimizers[choice]`, with one learning rate and iteration count.

    Args:
        optimizers: plain optimizers of different classes (their learning rates are not used).
        choice: the index of the one whose update applies.
        learning_rate: the learning rate (float).
    """

    def __init__(self, optimizers, choice, learning_rate, name=None):
        super().__init__(learning_rate=learning_rate, name=name)
        self.kinds = [kind_of(o) for o in optimizers]
        if len(set(self.kinds)) != len(self.kinds) or not all(plain(o) for o in optimizers):
            raise ValueError("OptimizerChoice: give plain optimizers (float learning rate, no weight decay, "
                             f"clipping, loss scaling or EMA) of different classes; got {optimizers!r}.")
        for kind, optimizer in zip(self.kinds, optimizers):
            setattr(self, kind, optimizer)  # where a differing float of its config is found
        self.choice = float(choice)

    def _tracked_children(self):
        return []  # the kinds' own variables are never used: the state is this optimizer's

    def _kinds(self):
        return [(kind, getattr(self, kind)) for kind in self.kinds]

    def _variable_layout(self):
        layout = []
        for kind, optimizer in self._kinds():
            for group in optimizer._variable_layout():
                layout.append(f"{kind}/{group}" if isinstance(group, str) else tuple(f"{kind}/{n}" for n in group))
        return layout

    def _update_rule(self):
        rules = [(kind, optimizer._update_rule()) for kind, optimizer in self._kinds()]
        choice = self.choice  # a traced value per member under a Population

        def init(params):
            return {f"{kind}/{name}": value for kind, rule in rules for name, value in rule.init(params).items()}

        def update(grads, state, params=None, *, learning_rate, iterations, **_):
            picked = jnp.asarray(choice, jnp.float32)
            chosen, slots = None, {}
            for i, (kind, rule) in enumerate(rules):
                updates, own = rule.update(grads, own_slots(state, kind), params, learning_rate=learning_rate,
                                           iterations=iterations)
                slots.update({f"{kind}/{name}": value for name, value in own.items()})
                chosen = updates if chosen is None else jax.tree_util.tree_map(
                    lambda kept, new, i=i: jnp.where(picked == i, new, kept), chosen, updates)
            return chosen, slots

        return _Rule(init, update)

    def get_config(self):
        return {**super().get_config(), "choice": self.choice, "kinds": list(self.kinds),
                **{kind: _kind_config(optimizer) for kind, optimizer in self._kinds()}}


class _Rule:
    def __init__(self, init, update):
        self.init, self.update = init, update


def own_slots(slots, kind):
    """`kind`'s entries of an `OptimizerChoice` state's slots, under their own names."""
    prefix = kind + "/"
    return {name[len(prefix):]: value for name, value in slots.items() if name.startswith(prefix)}
