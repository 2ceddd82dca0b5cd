"""A light Streamlit client: one browser session, spoken over the app's websocket.

A real browser costs about 2.3 s of CPU per session on a 2-core machine, which would
swamp any load figure, so load benches and classroom tests talk to the server the way
the browser's JavaScript does: ``BackMsg`` protobufs in (a rerun with the query string
and widget values), ``ForwardMsg`` protobufs out (page elements, then "script
finished"). Both message types ship in the ``streamlit`` package, so the client cannot
drift from the server it talks to.

Only what the benches and tests need is here: open a page, move one widget, run a
fragment the way the browser's timer does (``st.fragment(run_every=...)``: a class's
followers poll so), read the elements (metrics, alerts, text) that the finished run put
on the page.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

FINISHED = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
WIDGET_TYPES = ("slider", "number_input", "text_input", "text_area", "checkbox", "toggle", "selectbox", "radio")


@dataclass
class PageView:
    """The elements one finished script run sent, in order, and how long the run took."""

    elements: list = field(default_factory=list)
    seconds: float = 0.0
    exception: str = ""
    # When each element reached this client (time.perf_counter()): a browser shows it then.
    arrived: list = field(default_factory=list)

    def of_type(self, kind: str) -> list:
        return [getattr(e, kind) for e in self.elements if e.WhichOneof("type") == kind]

    def metric(self, label: str):
        """The last ``st.metric`` with this label: the final value, after live frames."""
        found = [m for m in self.of_type("metric") if m.label == label]
        return found[-1] if found else None

    def slider_arrival(self, label: str, value: float) -> float | None:
        """When a slider with this label first arrived showing ``value`` (its set value, else its default)."""
        for element, at in zip(self.elements, self.arrived, strict=True):
            if element.WhichOneof("type") != "slider" or element.slider.label != label:
                continue
            shown = element.slider.value if element.slider.set_value else element.slider.default
            if shown and abs(shown[0] - value) < 1e-9:
                return at
        return None

    def metric_arrival(self, label: str) -> float | None:
        """When the last ``st.metric`` with this label arrived (``time.perf_counter()``)."""
        times = [
            at
            for element, at in zip(self.elements, self.arrived, strict=True)
            if element.WhichOneof("type") == "metric" and element.metric.label == label
        ]
        return times[-1] if times else None

    def alerts(self) -> list[str]:
        return [a.body for a in self.of_type("alert")]

    def texts(self) -> list[str]:
        return [m.body for m in self.of_type("markdown")] + self.alerts()


class AppSession:
    """One session of the app; use as ``async with AppSession(url) as session``."""

    def __init__(self, base_url: str, timeout_s: float = 120):
        self.ws_url = base_url.replace("http://", "ws://") + "/_stcore/stream"
        self.timeout_s = timeout_s
        self.widgets: dict[str, object] = {}
        self._page = ""
        self._page_hash = ""
        self._query = ""
        self._socket = None
        # Fragments the server asked the browser to rerun on a timer: id -> seconds.
        self.auto_reruns: dict[str, float] = {}
        self.page_script_hash = ""

    async def __aenter__(self) -> AppSession:
        self._socket = await connect(self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=30)
        return self

    async def __aexit__(self, *exc) -> None:
        await self._socket.close()

    async def open(self, page: str, query: str = "") -> PageView:
        """Load ``/page?query`` as a browser's first visit does."""
        self._page, self._query, self._page_hash = page, query, ""
        self.widgets.clear()
        return await self._rerun([])

    async def set_widget(self, label: str, value) -> PageView:
        """Move the widget with this label to ``value`` and wait for the rerun to finish."""
        widget = self.widgets.get(label)
        if widget is None:
            raise KeyError(f"no widget labelled {label!r}; seen: {sorted(self.widgets)}")
        kind, proto = widget
        state = WidgetState(id=proto.id)
        if kind == "slider":
            state.double_array_value.data.extend([float(value)])
        elif kind == "number_input":
            if proto.data_type == proto.INT:
                state.int_value = int(value)
            else:
                state.double_value = float(value)
        elif kind in ("text_input", "text_area"):
            state.string_value = str(value)
        elif kind in ("checkbox", "toggle"):
            state.bool_value = bool(value)
        else:
            raise NotImplementedError(f"setting a {kind} is not supported")
        return await self._rerun([state])

    @property
    def query(self) -> str:
        """The page's query string as the server last set it (a follower's moves with the teacher)."""
        return self._query

    async def run_fragment(self, fragment_id: str) -> PageView:
        """What the browser sends when a fragment's timer fires; a full rerun it starts is collected too."""
        return await self._rerun([], fragment_id=fragment_id)

    async def _rerun(self, states: list, fragment_id: str = "") -> PageView:
        message = BackMsg()
        client = message.rerun_script
        client.query_string = self._query
        client.page_name = self._page
        client.page_script_hash = self._page_hash
        client.widget_states.widgets.extend(states)
        if fragment_id:
            client.fragment_id = fragment_id
            client.is_auto_rerun = True
        started = time.perf_counter()
        await self._socket.send(message.SerializeToString())
        view = PageView()
        async with asyncio.timeout(self.timeout_s):
            while True:
                forward = ForwardMsg()
                forward.ParseFromString(await self._socket.recv())
                kind = forward.WhichOneof("type")
                if kind == "new_session":
                    # The session's first run starts over: collect from here.
                    view = PageView()
                elif kind == "navigation":
                    # With st.navigation the page being shown is named here; reruns must name it.
                    self._page_hash = self.page_script_hash = forward.navigation.page_script_hash
                elif kind == "auto_rerun":
                    self.auto_reruns[forward.auto_rerun.fragment_id] = forward.auto_rerun.interval
                elif kind == "page_info_changed":
                    self._query = forward.page_info_changed.query_string
                elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                    self._record(view, forward.delta.new_element)
                elif kind == "script_finished" and forward.script_finished in FINISHED:
                    view.seconds = time.perf_counter() - started
                    return view

    def _record(self, view: PageView, element) -> None:
        view.elements.append(element)
        view.arrived.append(time.perf_counter())
        kind = element.WhichOneof("type")
        if kind in WIDGET_TYPES:
            self.widgets[getattr(element, kind).label] = (kind, getattr(element, kind))
        elif kind == "exception":
            view.exception = f"{element.exception.type}: {element.exception.message}"


def table(dataframe_element):
    """An ``st.dataframe`` element's data as a pandas DataFrame (it travels as Arrow IPC)."""
    import pyarrow as pa

    return pa.ipc.open_stream(dataframe_element.arrow_data.data).read_all().to_pandas()
