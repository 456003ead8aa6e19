// The console's entry: mounts the shell (shell/app.tsx) into index.html.
import { render } from "preact";
import { App } from "./shell/app.tsx";
import "./styles.css";

render(<App />, document.getElementById("root") as HTMLElement);
