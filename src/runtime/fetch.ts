// fetch() of a build or a data file, with errors that say what could not be fetched and why.

export async function fetchBytes(url: string | URL): Promise<Uint8Array<ArrayBuffer>> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`aptkit: cannot fetch ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (!response.ok) throw new Error(`aptkit: cannot fetch ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
