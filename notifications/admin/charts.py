"""The dashboard's charts as geometry for an inline SVG that its template draws.

Hand-written because the page must read without JavaScript and without a build step: chart
libraries (Chart.js, Plotly, Vega) draw in the browser with JavaScript, and a server-side
plotting library (matplotlib) is a large dependency for two kinds of chart. Here a chart is a
list of rectangles and polylines in a fixed viewBox, scaled to a round maximum, each mark with a
``<title>`` (the browser's tooltip); every chart also has a table beside it that says the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

WIDTH, HEIGHT = 720, 150
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 8, 20  # room for the axis labels
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Series:
    """One kind of mark: its name (in the legend and tooltips), its colour, a value per hour."""

    name: str
    colour: str
    values: dict[datetime, float]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Line:
    points: str  # "x,y x,y …", an SVG polyline's
    colour: str
    title: str
    dots: list[tuple[float, float, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    top: float  # the value at the top of the plot
    legend: list[Series]
    hour_labels: list[tuple[float, str]]
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_top: int = TOP
    plot_bottom: int = TOP + PLOT_HEIGHT


def round_up(value: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten at or above ``value`` (1 for nothing): an axis's top."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= value)


def _slot(hours: list[datetime], index: int) -> tuple[float, float]:
    """The left edge and width of hour ``index``'s slot."""
    width = PLOT_WIDTH / len(hours)
    return LEFT + index * width, width


def _y(value: float, top: float) -> float:
    return TOP + PLOT_HEIGHT * (1 - value / top)


def _hour_labels(hours: list[datetime]) -> list[tuple[float, str]]:
    """Every sixth hour's start, as HH:00 in the current time zone, under its slot."""
    labels = []
    for index, hour in enumerate(hours):
        if index % 6 == 0:
            x, width = _slot(hours, index)
            labels.append((round(x + width / 2, 1), timezone.localtime(hour).strftime("%H:00")))
    return labels


def stacked_bars(*, title: str, unit: str, hours: list[datetime], series: list[Series]) -> Chart:
    """One bar per hour, its series stacked bottom up in the order given."""
    top = round_up(max((sum(s.values.get(hour, 0) for s in series) for hour in hours), default=0))
    bars = []
    for index, hour in enumerate(hours):
        x, width = _slot(hours, index)
        base = 0.0
        for kind in series:
            value = kind.values.get(hour, 0)
            if value:
                y = _y(base + value, top)
                height = _y(base, top) - y
                label = f"{timezone.localtime(hour):%H:00}: {value:g} {kind.name}"
                box = (round(x + 1, 1), round(y, 1), round(width - 2, 1), round(height, 1))
                bars.append(Bar(*box, kind.colour, label))
                base += value
    return Chart(title, unit, top, series, _hour_labels(hours), bars=bars)


def lines(*, title: str, unit: str, hours: list[datetime], series: list[Series]) -> Chart:
    """One polyline per series through the hours that have a value (an hour without is a gap)."""
    top = round_up(max((value for s in series for value in s.values.values()), default=0))
    drawn = []
    for kind in series:
        dots = []
        for index, hour in enumerate(hours):
            if hour in kind.values:
                x, width = _slot(hours, index)
                label = f"{timezone.localtime(hour):%H:00}: {kind.name} {kind.values[hour]:.1f} {unit}"
                dots.append((round(x + width / 2, 1), round(_y(kind.values[hour], top), 1), label))
        points = " ".join(f"{x},{y}" for x, y, _ in dots)
        drawn.append(Line(points, kind.colour, kind.name, dots))
    return Chart(title, unit, top, series, _hour_labels(hours), lines=drawn)
