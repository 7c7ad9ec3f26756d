package profile

// vertexTable names the vertices: it interns each (parent, name) and hands
// out its id (the Vertex of a kernels.Scope); id 0 is outside every vertex.
type vertexTable struct {
	vertices []vertexInfo // by id, from 1
	ids      map[vertexKey]int32
	chainBuf []int32
}

type vertexKey struct {
	parent int32
	name   string
}

type vertexInfo struct {
	parent int32
	name   string
	path   string // "A/enc2.conv1"
}

func (t *vertexTable) init() {
	t.vertices = []vertexInfo{{}}
	t.ids = map[vertexKey]int32{}
}

// intern is the id of the vertex name nested in vertex parent.
func (t *vertexTable) intern(parent int32, name string) int32 {
	k := vertexKey{parent, name}
	id, ok := t.ids[k]
	if !ok {
		path := name
		if parent != 0 {
			path = t.vertices[parent].path + "/" + name
		}
		id = int32(len(t.vertices))
		t.vertices = append(t.vertices, vertexInfo{parent: parent, name: name, path: path})
		t.ids[k] = id
	}
	return id
}

// path is vertex v's path, "" for 0.
func (t *vertexTable) path(v int32) string { return t.vertices[v].path }

// chain is v and the vertices it is nested in, outermost first (valid
// until the next call).
func (t *vertexTable) chain(v int32) []int32 {
	c := t.chainBuf[:0]
	for ; v != 0; v = t.vertices[v].parent {
		c = append(c, v)
	}
	for i, j := 0, len(c)-1; i < j; i, j = i+1, j-1 {
		c[i], c[j] = c[j], c[i]
	}
	t.chainBuf = c
	return c
}

// paths are the vertices' paths by id.
func (t *vertexTable) paths() []string {
	ps := make([]string, 0, len(t.vertices))
	for _, v := range t.vertices {
		ps = append(ps, v.path)
	}
	return ps
}
