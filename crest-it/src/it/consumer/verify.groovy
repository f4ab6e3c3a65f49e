// The README's dependency snippet must be what this project, which builds, declares: every
// readme:begin/end block of the (filtered) pom.xml appears in the README's first xml block, line
// for line, ignoring indentation.
def strip = { List<String> lines -> lines*.trim().findAll { it } }
def pom = new File(basedir, 'pom.xml').readLines()
def readme = new File(readme).text
def xml = readme.find(/(?s)```xml\n(.*?)```/) { all, body -> body }
assert xml != null : "README.md has no ```xml block"
def snippet = strip(xml.readLines()).join('\n')
def blocks = []
def current = null
pom.each { line ->
  if (line.contains('<!-- readme:begin -->')) { current = [] }
  else if (line.contains('<!-- readme:end -->')) { blocks << strip(current).join('\n'); current = null }
  else if (current != null) { current << line }
}
assert blocks.size() == 2 : "expected 2 readme blocks in the consumer pom, found ${blocks.size()}"
blocks.each { block ->
  assert snippet.contains(block) : "README.md's dependency snippet lacks, from crest-it/src/it/consumer/pom.xml:\n${block}"
}
return true
