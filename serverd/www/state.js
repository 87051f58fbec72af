// custos dashboard - the page's state: every field the modules share,
// declared here and nowhere else. S is sealed: a module that assigns a
// field not declared below fails at once (TypeError in a module's strict
// code) instead of growing a second, undocumented piece of state.

export const S = Object.seal({
  // who and what
  me: null,              // {name, role, user_id}: GET /api/v1/session
  view: null,            // "overview", "wall", "hosts", "check", "agent", "downtimes", "events", "notifications"
  viewId: null,          // the check's or agent's id on /checks/ID, /agents/ID
  clockOffset: 0,        // server time - local time, ms
  prefetch: null,        // the /status promise asked for beside /session (app.js start())

  // the data
  status: null,          // last /api/v1/status
  problems: new Map(),   // check id -> check (with state, agent_name)
  downChecks: new Map(), // check id -> check, the checks of DOWN agents not in problems
  downtimes: new Map(),  // "c<id>" / "a<id>" -> end (RFC 3339), active ones
  agents: new Map(),     // agent id -> agent
  agentsLoaded: false,
  agentSince: null,      // agent id -> {state, since}: when an agent went up or down (overview.js)
  events: [],            // newest first
  why: new Map(),        // the check page's open "why" of events: id -> routing (overview.js)

  // the overview
  filter: "",            // the text filter (?q=)
  selected: new Set(),   // check ids ticked for a bulk action
  sel: -1,               // the row j/k moved to
  problemLimit: null,    // problem rows drawn (null: the first 1000)
  okOpen: false,         // the OK checks' line expanded (kept across a redraw)
  refreshTimer: null,    // the once-a-second re-read after stream changes (stream.js)

  // the hosts view
  hostCounts: null,      // agent id -> {CRITICAL: n, ...}
  hostOkKnown: false,    // hostCounts counts the OK checks too (not only the problems)
  hostLimit: null,       // host rows drawn (null: the first 500)

  // the check page
  check: null,           // the check shown, as GET /api/v1/checks/{id} answered
  ackInfo: null,         // its acknowledgement's event detail {by, comment, expires_at}
  chartRange: null,      // "1h" ... "30d": the chart's range
  chartToken: null,      // the newest chart request (older answers are dropped)
  btToken: null,         // the newest backtest request (backtest.js), likewise
  btMarks: null,         // the backtest's proposed HARD changes, marked on the chart

  // the downtimes, events and notifications views
  dtChecks: null,        // check id -> check, for naming the downtimes' checks
  eventsQuery: null,     // {kind, agent, check, from, to}: the events view's filters
  eventsBuf: [],         // events read and passing the filters, not yet shown
  eventsBefore: null,    // the id the next page of events ends before
  evTimer: null,         // the filter box's debounce
  notesCursor: null,     // the notifications view's next page

  // the live stream (stream.js)
  stream: null,          // {restart(), stop()}: the SharedWorker's port or a tab's EventSource
  lastDown: null,        // when the stream broke (ms), for "reconnecting since"
});

// What a session may do (docs/api.md's roles): an operator acknowledges,
// sets and ends downtimes and enables or disables a check - what one does on
// a bad day; only an admin changes configuration (the threshold editor).
// A viewer reads. The server checks every request anyway: these only keep
// controls that would answer 403 off the page.
export const canAct = () => !!S.me && (S.me.role === "admin" || S.me.role === "operator");
export const isAdmin = () => !!S.me && S.me.role === "admin";
