"""The course's helpers: what the lesson scripts share (:mod:`~tinygrad_edu.course.lesson`: settings, tables,
figures, the numbers the pages quote) and the lessons as notebooks (:mod:`~tinygrad_edu.course.notebooks`).

The lessons import the helpers from here: ``from tinygrad_edu.course import lesson_settings``.
"""

from tinygrad_edu.course.lesson import (
    NUMBERS_FILE,
    LessonSettingError,
    display_path,
    format_table,
    graphviz_optional,
    heading,
    in_notebook,
    lesson_settings,
    new_figure,
    record_numbers,
    report_errors_cleanly,
    save_figure,
    show_saved,
)

__all__ = ["NUMBERS_FILE", "LessonSettingError", "display_path", "format_table", "graphviz_optional", "heading",
           "in_notebook", "lesson_settings", "new_figure", "record_numbers", "report_errors_cleanly", "save_figure",
           "show_saved"]
