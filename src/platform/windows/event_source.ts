/**
 * The one event source name (pure; no FFI, so the eventlog plugin can import it on every OS).
 *
 * @module
 */

/**
 * The event source install.ps1 registers in the Application log (the original Port Reporter's name). The
 * service and the eventlog plugin write under it; an unregistered source shows "The description for Event
 * ID … cannot be found" in Event Viewer (https://learn.microsoft.com/windows/win32/eventlog/event-sources).
 */
export const EVENT_SOURCE = "Port Reporter";
