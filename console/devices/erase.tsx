/**
 * Erasing a device (manage-key sessions only): a danger button that opens a modal dialog where the
 * person types the device id to confirm, as GitHub asks for a repository's name before deleting it,
 * since nothing brings the data back. Confirming calls `DELETE /v1/devices/:id`, shows the receipt,
 * and follows `GET /v1/erasures/:id` every 2 s, region by region, until every region has applied
 * it; then it goes back to the devices list, which says the device was erased.
 *
 * The dialog is the native `<dialog>` opened with `showModal()`: the browser makes the rest of the
 * page inert, gives it the dialog role, closes it on Esc and gives focus back to the button. Tab
 * is kept going round inside it (the browser would let it leave for its own toolbar).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { ErasureReceipt, ErasureStatus } from "../../shared/lifecycle.ts";
import { ApiFailure, api } from "../api.ts";
import { formatTime } from "../format.ts";
import { navigate } from "../url.ts";

const pollMs = 2000;

export function EraseDevice({ appId, deviceId }: { appId: string; deviceId: string }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  // Opened once its content is rendered, so the browser's focusing steps put focus on the first
  // field in it: the confirmation, the one thing to do next.
  useEffect(() => {
    if (open) dialog.current?.showModal();
  }, [open]);
  return (
    <>
      <button type="button" class="danger" onClick={() => setOpen(true)}>
        Erase device…
      </button>
      <dialog
        ref={dialog}
        class="erase"
        aria-labelledby="erase-title"
        onClose={() => setOpen(false)}
        onKeyDown={keepFocusInside}
      >
        {open && <EraseSteps appId={appId} deviceId={deviceId} close={() => dialog.current?.close()} />}
      </dialog>
    </>
  );
}

/** Tab from the last control goes to the first, Shift+Tab from the first to the last. */
function keepFocusInside(event: KeyboardEvent): void {
  if (event.key !== "Tab") return;
  const box = event.currentTarget as HTMLElement;
  const controls = [...box.querySelectorAll<HTMLElement>("input, button:not(:disabled), a[href]")];
  const first = controls[0];
  const last = controls[controls.length - 1];
  if (!first || !last) return;
  const at = document.activeElement;
  if (event.shiftKey ? at === first || at === box : at === last) {
    event.preventDefault();
    (event.shiftKey ? last : first).focus();
  }
}

function EraseSteps({ appId, deviceId, close }: { appId: string; deviceId: string; close: () => void }) {
  const [typed, setTyped] = useState("");
  const [receipt, setReceipt] = useState<ErasureReceipt | null>(null);
  const [erasing, setErasing] = useState(false);
  const [error, setError] = useState<string | null>(null);

  return (
    <div>
      <h2 id="erase-title">{receipt ? `Erasing device ${deviceId}` : `Erase device ${deviceId}?`}</h2>
      {receipt ? (
        <Progress receipt={receipt} appId={appId} close={close} />
      ) : (
        <form
          method="dialog"
          onSubmit={async (event) => {
            event.preventDefault();
            if (typed !== deviceId) return;
            setErasing(true);
            setError(null);
            try {
              setReceipt(await api.eraseDevice(deviceId));
            } catch (failure) {
              setError(failure instanceof ApiFailure ? failure.message : String(failure));
            } finally {
              setErasing(false);
            }
          }}
        >
          <p>
            This erases every line this device sent until now, in every region and every copy: replicas, retries waiting
            to be sent, and backups. The device's own key is destroyed (crypto-shredding), so a copy left anywhere can
            no longer be read, and a region that is down now applies the erasure when it is back. The device's name,
            model and other details go too.
          </p>
          <p>
            <strong>This cannot be undone.</strong> Lines the device sends afterwards are kept as new.
          </p>
          <label for="erase-confirm">
            Type <code>{deviceId}</code> to confirm
          </label>
          <input
            id="erase-confirm"
            autoComplete="off"
            spellcheck={false}
            value={typed}
            onInput={(event) => setTyped(event.currentTarget.value)}
          />
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <div class="actions">
            <button type="submit" class="danger" disabled={typed !== deviceId || erasing}>
              {erasing ? "Erasing…" : "Erase this device"}
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

/** The receipt, then each region's state every 2 s until all have completed. */
function Progress({ receipt, appId, close }: { receipt: ErasureReceipt; appId: string; close: () => void }) {
  const [status, setStatus] = useState<ErasureStatus | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const closeButton = useRef<HTMLButtonElement>(null);
  const { erasure } = receipt;
  // The confirm button that had focus is gone: focus moves to the one control left, not to nowhere.
  useEffect(() => closeButton.current?.focus(), []);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const next = await api.erasure(erasure.id);
        if (stopped) return;
        setStatus(next);
        setFailure(null);
        if (next.completed) {
          navigate(`/?app=${appId}&erased=${encodeURIComponent(erasure.deviceId ?? "")}`);
          return;
        }
      } catch (error) {
        // A status read that fails (a region or the edge busy) is asked again: the erasure goes on.
        if (stopped) return;
        setFailure(error instanceof ApiFailure ? error.message : String(error));
      }
      timer = setTimeout(poll, pollMs);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [erasure.id, erasure.deviceId, appId]);

  return (
    <div>
      <p>
        Erasure <code>{erasure.id}</code> requested {formatTime(erasure.requestedAt)}; each region now applies it.
      </p>
      <table aria-label="Erasure progress per region">
        <thead>
          <tr>
            <th scope="col">Region</th>
            <th scope="col">State</th>
            <th scope="col">Completed</th>
          </tr>
        </thead>
        <tbody>
          {(status?.regions ?? []).map((region) => (
            <tr key={region.region}>
              <th scope="row">{region.region}</th>
              <td>
                <span class={`state state-${region.state}`}>{region.state}</span>
              </td>
              <td>{region.completedAt ? formatTime(region.completedAt) : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p role="status">
        {status?.completed ? "Erased in every region." : `Waiting for every region (checked every ${pollMs / 1000} s)…`}
      </p>
      {failure && (
        <p class="error" role="alert">
          Could not check the erasure's progress: {failure}. Trying again.
        </p>
      )}
      <p class="muted">Closing this does not stop the erasure; it goes on in every region.</p>
      <button type="button" ref={closeButton} onClick={close}>
        Close
      </button>
    </div>
  );
}
