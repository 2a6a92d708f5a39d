#ifndef CALOVQ_CNCURSES_SHIM_H
#define CALOVQ_CNCURSES_SHIM_H
/* SwiftPM drops the -D_XOPEN_SOURCE that pkg-config prints for ncursesw; without a define the
   wide-character API (mvaddwstr, cchar_t, setcchar) is hidden. */
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <wchar.h>
#include <curses.h>

/* Attribute macros built with NCURSES_BITS are not imported. */
static inline attr_t calo_A_BOLD(void)      { return A_BOLD; }
static inline attr_t calo_A_REVERSE(void)   { return A_REVERSE; }
static inline attr_t calo_A_UNDERLINE(void) { return A_UNDERLINE; }
static inline attr_t calo_A_DIM(void)       { return A_DIM; }
/* Mutable C globals cannot be read from Swift 6 code: read them through functions. */
static inline WINDOW *calo_stdscr(void)     { return stdscr; }
static inline int calo_COLORS(void)         { return COLORS; }
static inline int calo_COLOR_PAIRS(void)    { return COLOR_PAIRS; }
static inline int calo_LINES(void)          { return LINES; }
static inline int calo_COLS(void)           { return COLS; }
static inline void calo_set_escdelay(int ms) { ESCDELAY = ms; }
static inline void calo_getmaxyx(WINDOW *w, int *y, int *x) { getmaxyx(w, *y, *x); }
#endif
