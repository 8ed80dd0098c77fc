// A user plugin written for a future contract version.
export default () => ({ apiVersion: 2, id: "future" });
