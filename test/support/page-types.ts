/**
 * The little of the DOM that the browser tests use inside `page.evaluate` (those functions run
 * in the page). The tests' TypeScript has no DOM library, which would also retype Node's fetch
 * and Headers; each browser test declares these globals for its own module only:
 *
 *   declare const document: PageDocument
 */

export interface PageElement {
  readonly attributes: ArrayLike<{ name: string; value: string }>
  readonly parentElement: PageElement | null
  readonly textContent: string | null
  readonly scrollWidth: number
  readonly clientWidth: number
  getBoundingClientRect(): { x: number; y: number; width: number; height: number }
}

export interface PageDocument {
  readonly body: PageElement
  querySelector(selector: string): PageElement | null
  querySelectorAll(selector: string): ArrayLike<PageElement>
  createElement(tag: 'canvas'): PageCanvas
}

export interface PageCanvas {
  width: number
  height: number
  getContext(kind: '2d'): {
    drawImage(image: PageImage, x: number, y: number): void
    getImageData(x: number, y: number, width: number, height: number): { data: ArrayLike<number> }
  } | null
}

export interface PageImage {
  src: string
  readonly width: number
  readonly height: number
  decode(): Promise<void>
}

export type PageStyle = (element: PageElement) => {
  display: string
  backgroundColor: string
  color: string
  overflowX: string
  lineHeight: string
}
